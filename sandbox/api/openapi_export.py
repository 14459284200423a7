"""The committed OpenAPI spec (`openapi/openapi.json`) and webhook event schemas
(`openapi/events/<type>.json`) are this module's output; tests fail when the code and
the files drift apart. Regenerate both with `uv run sandbox openapi`."""

from __future__ import annotations

import json
from pathlib import Path

from sandbox.api.openapi_spec import EVENTS_DIR, SPEC_PATH, _portable, directory_codes, event_payloads, event_schema

__all__ = ["EVENTS_DIR", "SPEC_PATH", "directory_codes", "render", "render_events", "write", "write_events"]


def render() -> str:
    from litestar._openapi.plugin import OpenAPIPlugin

    from sandbox.api.app import create_app

    return _dump(create_app().plugins.get(OpenAPIPlugin).provide_openapi_schema())


def _dump(document: dict) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render_events() -> dict[str, str]:
    """File name → content, one file per event type."""
    return {f"{t}.json": _dump(_portable(event_schema(t, payload))) for t, payload in event_payloads().items()}


def write_events(directory: Path = EVENTS_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    files = render_events()
    for stale in directory.glob("*.json"):
        if stale.name not in files:
            stale.unlink()
    written = []
    for name, text in files.items():
        (directory / name).write_text(text)
        written.append(directory / name)
    return written


def write(path: Path = SPEC_PATH) -> Path:
    """The spec at `path`, and the event schemas in `events/` beside it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render())
    write_events(path.parent / "events")
    return path
