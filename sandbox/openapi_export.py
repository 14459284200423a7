"""The committed OpenAPI spec (`openapi/openapi.json`) and webhook event schemas
(`openapi/events/<type>.json`) are this module's output; tests fail when the code and
the files drift apart. Regenerate both with `uv run sandbox openapi`."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec

SPEC_PATH = Path(__file__).resolve().parents[1] / "openapi" / "openapi.json"
EVENTS_DIR = SPEC_PATH.parent / "events"
# Amounts on the wire: major units, exactly two decimals; a change may be negative.
AMOUNT_PATTERN = r"^-?[0-9]+\.[0-9]{2}$"


def render() -> str:
    from sandbox.app import create_app

    schema = msgspec.to_builtins(create_app().openapi_schema.to_schema())
    return _dump(schema)


def _dump(document: dict) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def event_payloads() -> dict[str, type]:
    """The Struct each event type's `data` is built from, by family (the part before
    the dot): the same Structs the API answers with. A new family without an entry
    here fails `render_events` (and so the drift test)."""
    from sandbox.batches.schemas import PayoutBatch
    from sandbox.payouts.schemas import Payout
    from sandbox.settlements.schemas import Settlement
    from sandbox.webhooks.event_types import EVENT_TYPES

    families = {"payout": Payout, "batch": PayoutBatch, "settlement": Settlement}
    missing = sorted({t for t in EVENT_TYPES if t.split(".")[0] not in families})
    if missing:
        raise LookupError(f"no payload Struct for event types {missing}: add their family to event_payloads()")
    return {t: families[t.split(".")[0]] for t in EVENT_TYPES}


def _tighten(defs: dict) -> None:
    """What the Structs type as plain strings but the wire promises more about:
    amounts, timestamps, payout statuses."""
    from sandbox.payouts.states import STATUSES

    for name, node in defs.items():
        for prop, sub in (node.get("properties") or {}).items():
            if sub.get("type") != "string":
                continue
            if prop == "amount" or prop.endswith(("_amount", "_change")):
                sub["pattern"] = AMOUNT_PATTERN
            elif prop == "at" or prop.endswith("_at"):
                sub["format"] = "date-time"
            elif prop == "status" and name in ("Payout", "StatusChange"):
                sub["enum"] = list(STATUSES)
        for prop, sub in (node.get("properties") or {}).items():
            nullable = sub.get("anyOf")
            if nullable and prop.endswith("_at") and {"type": "string"} in nullable:
                sub["anyOf"] = [{"type": "string", "format": "date-time"}, {"type": "null"}]


def event_schema(event_type: str, payload: type) -> dict:
    from sandbox.payouts.states import INITIAL, STATUSES

    (data,), defs = msgspec.json.schema_components([payload], ref_template="#/$defs/{name}")
    _tighten(defs)
    family, _, what = event_type.partition(".")
    if family == "payout" and what in STATUSES:
        data = {"allOf": [data, {"properties": {"status": {"const": what}}}]}
    elif event_type == "payout.created":
        data = {"allOf": [data, {"properties": {"status": {"enum": sorted((s.value for s in INITIAL), reverse=True)}}}]}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": event_type,
        "description": f"The body of a `{event_type}` webhook (Standard Webhooks envelope; `data` is the "
                       f"{payload.__name__} as the API returns it). Generated from the code by `sandbox openapi`.",
        "type": "object",
        "required": ["id", "type", "timestamp", "data"],
        "properties": {
            "id": {"type": "string", "pattern": "^evt_[0-9a-f]+$",
                   "description": "The event id, also sent as the `webhook-id` header; stable across retries"},
            "type": {"const": event_type},
            "timestamp": {"type": "string", "format": "date-time", "description": "When the event happened"},
            "data": data,
        },
        "additionalProperties": False,
        "$defs": defs,
    }


def render_events() -> dict[str, str]:
    """File name → content, one file per event type."""
    return {f"{t}.json": _dump(event_schema(t, payload)) for t, payload in event_payloads().items()}


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
