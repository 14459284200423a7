"""The committed OpenAPI spec (`openapi/openapi.json`) is this function's output; a test
fails when the app and the file drift apart. Regenerate with `uv run sandbox openapi`."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec

SPEC_PATH = Path(__file__).resolve().parents[1] / "openapi" / "openapi.json"


def render() -> str:
    from sandbox.app import create_app

    schema = msgspec.to_builtins(create_app().openapi_schema.to_schema())
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write(path: Path = SPEC_PATH) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render())
    return path
