"""What the published OpenAPI document says beyond what Litestar derives from the routes:
the destination's shapes, the webhooks section built from the event schemas, bodies that
may be left out, and patterns a JavaScript validator reads as Python does. The app serves
the finished document at /schema (`publish`); sandbox/openapi_export.py writes it to
`openapi/`. This module never imports the app, so the app may import it."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec

from sandbox.core.money import PYTHON_END

SPEC_PATH = Path(__file__).resolve().parents[1] / "openapi" / "openapi.json"
EVENTS_DIR = SPEC_PATH.parent / "events"
SEED_DIRECTORY = SPEC_PATH.parents[1] / "seeds" / "directory.json"
# Amounts on the wire: major units, exactly two decimals; a change may be negative.
AMOUNT_PATTERN = r"^-?[0-9]+\.[0-9]{2}$"


def publish(app) -> None:
    """Make the spec the app serves at /schema the finished one: Litestar's document plus
    what it cannot say (the destination's shapes, the webhooks). Litestar has no public
    hook after it builds the document, so the finished dict replaces its cached one."""
    from litestar._openapi.plugin import OpenAPIPlugin

    plugin = app.plugins.get(OpenAPIPlugin)
    plugin._openapi_schema = finish(msgspec.to_builtins(plugin.provide_openapi().to_schema()))


def finish(spec: dict) -> dict:
    schemas = spec["components"]["schemas"]
    _optional_bodies(spec)
    _destination_shapes(schemas)
    _zero_bounds(schemas)
    spec["webhooks"] = _webhooks(schemas)
    return _portable(spec)


def _zero_bounds(schemas: dict) -> None:
    """Litestar drops a bound of 0 (`ge=0` tests false), so the spec would call a negative
    number valid where the API refuses it: the Structs with such a bound state it again."""
    from sandbox.clocks.schemas import ClockAdvance
    from sandbox.faults.schemas import FaultRuleCreate

    for struct in (ClockAdvance, FaultRuleCreate):
        (_,), defs = msgspec.json.schema_components([struct])
        for prop, rule in defs[struct.__name__]["properties"].items():
            for option in rule.get("anyOf", [rule]):
                if "minimum" in option:
                    target = schemas[struct.__name__]["properties"][prop]
                    target["minimum"] = option["minimum"]


def _optional_bodies(spec: dict) -> None:
    """A body declared `X | None = None` (cancel, reinitiate, the admin decisions) may be
    left out; Litestar still marks it required."""
    for item in spec["paths"].values():
        for op in item.values():
            body = op.get("requestBody") if isinstance(op, dict) else None
            schema = ((body or {}).get("content", {}).get("application/json") or {}).get("schema", {})
            if {"type": "null"} in schema.get("oneOf", []):
                body["required"] = False


def directory_codes() -> tuple[list[str], list[str]]:
    """Bank and wallet codes of the directory the sandbox seeds (seeds/directory.json)."""
    book = json.loads(SEED_DIRECTORY.read_text())
    return sorted(b["code"] for b in book["banks"]), sorted(w["code"] for w in book["wallets"])


def _destination_shapes(schemas: dict) -> None:
    """The request destination as a `oneOf` of its shapes, codes as the directory's enums.
    The API decodes one Struct (a bank account and an IBAN share `type: "bank"`) and the
    destination rules hold a body to exactly one of these shapes."""
    from sandbox.payouts.schemas import DESTINATION_SHAPES

    banks, wallets = directory_codes()
    refs, defs = msgspec.json.schema_components(DESTINATION_SHAPES, ref_template="#/components/schemas/{name}")
    for name, node in defs.items():
        props = node["properties"]
        for field, codes in (("bank_code", banks), ("wallet_code", wallets)):
            if field in props:
                props[field] = {"type": "string", "enum": codes}
        node["additionalProperties"] = False
        schemas[name] = node
    schemas["DestinationIn"] = {
        "description": schemas["DestinationIn"].get("description", ""),
        "oneOf": list(refs),
    }


def _webhooks(schemas: dict) -> dict:
    """One entry per event type: what the sandbox POSTs to an endpoint, the same schema
    as openapi/events/<type>.json with `data` pointing at the API's own components."""
    hooks = {}
    for event_type, payload in event_payloads().items():
        envelope = event_schema(event_type, payload)
        for name, node in envelope.pop("$defs").items():
            schemas.setdefault(name, node)
        envelope.pop("$schema")
        data = envelope["properties"]["data"]
        if "allOf" in data:
            # The status this type implies, in words: generated clients cannot merge an
            # `allOf` that narrows a string to a constant (openapi-python-client refuses it).
            status = data["allOf"][1]["properties"]["status"]
            wanted = status.get("const") or " or ".join(status["enum"])
            envelope["properties"]["data"] = {**data["allOf"][0], "description": f"The payout; its status is {wanted}"}
        envelope = json.loads(json.dumps(envelope).replace('"#/$defs/', '"#/components/schemas/'))
        name = "".join(part.capitalize() for part in event_type.replace("_", ".").split(".")) + "Event"
        schemas[name] = envelope
        hooks[event_type] = {"post": {
            "operationId": f"on_{event_type.replace('.', '_')}",
            "summary": f"`{event_type}`",
            "description": "Sent to each webhook endpoint subscribed to this type, signed with the Standard "
                           "Webhooks headers `webhook-id`, `webhook-timestamp` and `webhook-signature`.",
            "requestBody": {"required": True,
                            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}},
            "responses": {"200": {"description": "Any 2xx acknowledges the event; anything else is retried"}},
        }}
    return hooks


def _portable(node):
    """Patterns as JavaScript (JSON Schema's dialect) reads them the way Python does: the
    Python-only end guard becomes a bare `$`, which in JavaScript already means the end,
    and `\\"` (a quote Python lets be escaped) a bare quote, which JavaScript's Unicode
    mode requires."""
    if isinstance(node, dict):
        return {k: v.replace(PYTHON_END, "$").replace('\\"', '"') if k == "pattern" and isinstance(v, str)
                else _portable(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_portable(v) for v in node]
    return node


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
    from sandbox.idempotency.cause import RequestCause
    from sandbox.payouts.states import INITIAL, STATUSES

    (data, request), defs = msgspec.json.schema_components([payload, RequestCause], ref_template="#/$defs/{name}")
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
        "required": ["id", "type", "timestamp", "data", "request"],
        "properties": {
            "id": {"type": "string", "pattern": "^evt_[0-9a-f]+$",
                   "description": "The event id, also sent as the `webhook-id` header; stable across retries"},
            "type": {"const": event_type},
            "timestamp": {"type": "string", "format": "date-time", "description": "When the event happened"},
            "data": data,
            "request": {"anyOf": [request, {"type": "null"}],
                        "description": "The API request that caused the event (its `X-Request-ID` and idempotency "
                                       "key); null when the sandbox did it on its own: a scenario step, the rail's "
                                       "callback, a clock"},
        },
        "additionalProperties": False,
        "$defs": defs,
    }
