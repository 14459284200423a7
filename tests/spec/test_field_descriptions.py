"""Every field of every request and response body the spec publishes says what it is: a
client generated from the spec, or a reader of /schema, learns a field's meaning there (a
CI job had to guess what `next_step_at` and `seconds` mean). Read from the committed spec,
which tests/spec/test_openapi_drift.py holds equal to the served one. A schema with a field
without a description fails."""

from __future__ import annotations

import json
from pathlib import Path

SPEC = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"


def described(node: dict, schemas: dict) -> bool:
    """Words of its own, or a reference to a schema that has them (a Struct-typed field is
    described by its Struct: words on the field would replace the schema's own)."""
    refs = [node] if "$ref" in node else node.get("allOf", [])
    return "description" in node or (len(refs) == 1 and "description" in schemas[refs[0]["$ref"].rsplit("/", 1)[-1]])


def undescribed_fields() -> dict[str, list[str]]:
    schemas = json.loads(SPEC.read_text())["components"]["schemas"]
    found = {name: sorted(field for field, node in (schema.get("properties") or {}).items()
                          if not described(node, schemas))
             for name, schema in schemas.items()}
    return {name: fields for name, fields in found.items() if fields}


def test_every_field_has_a_description() -> None:
    missing = undescribed_fields()
    assert not missing, f"fields without a description (msgspec.Meta(description=…) on the Struct): {missing}"
