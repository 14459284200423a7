"""Every tool's input schema against the OpenAPI operation it fronts (openapi/openapi.json,
the published spec): for each argument that is an API field, the same type, enum,
pattern, lengths and bounds. A difference fails, unless it is one of NARROWER, each a
deliberate narrowing (never a widening) with its reason."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from sandbox.mcp.connection import Sandbox
from sandbox.mcp.server import build

SPEC = json.loads((Path(__file__).parents[2] / "openapi" / "openapi.json").read_text())
H = ("header", "X-Idempotency-Key")
KEY = {"idempotency_key": H}
P = "/api/v1"
# tool -> (method, path) it fronts, and argument -> where its field is: ("query"|"path"|"header", name) or
# ("body", property)
FRONTS: dict[str, tuple[str, str, dict[str, tuple[str, str]]]] = {
    "new_merchant": ("post", "/sandbox/merchants", {"clock": ("body", "clock"),
                                                   "opening_balance": ("body", "opening_balance"), **KEY}),
    "create_payout": ("post", "/payouts", {"scenario": ("body", "scenario"), "amount": ("body", "amount"),
                                           "reference": ("body", "reference"), **KEY}),
    "list_payouts": ("get", "/payouts", {"status": ("query", "status"), "limit": ("query", "limit"),
                                         "cursor": ("query", "cursor")}),
    "cancel_payout": ("post", "/payouts/{payout_id}/cancel", {"payout_id": ("path", "payout_id"),
                                                              "reason": ("body", "reason"), **KEY}),
    "reinitiate_payout": ("post", "/payouts/{payout_id}/reinitiate", {"payout_id": ("path", "payout_id"), **KEY}),
    "send_bank_callback": ("post", "/sandbox/payouts/{payout_id}/simulate", {
        "payout_id": ("path", "payout_id"), "status": ("body", "status"), "failure_code": ("body", "failure_code"),
        **KEY}),
    "advance_clock": ("post", "/sandbox/clock/advance", {"seconds": ("body", "seconds"), **KEY}),
    "explain_payout": ("get", "/payouts/{payout_id}", {"payout_id": ("path", "payout_id")}),
    "register_webhook_endpoint": ("post", "/webhook-endpoints", {"url": ("body", "url"), "events": ("body", "events"),
                                                                 "signing": ("body", "signing"), **KEY}),
    "list_webhook_endpoints": ("get", "/webhook-endpoints", {"limit": ("query", "limit"),
                                                             "cursor": ("query", "cursor")}),
    "webhook_deliveries": ("get", "/events", {"payout_id": ("query", "payout_id")}),
    "resend_event": ("post", "/events/{event_id}/resend", {"event_id": ("path", "event_id"),
                                                           "endpoint_id": ("body", "endpoint_id"), **KEY}),
    "audit_webhook_receiver": ("post", "/webhook-endpoints/{endpoint_id}/audit", {
        "endpoint_id": ("path", "endpoint_id"), **KEY}),
    "request_log": ("get", "/sandbox/requests/{request_id}", {"request_id": ("path", "request_id")}),
    "list_requests": ("get", "/sandbox/requests", {
        "method": ("query", "method"), "path": ("query", "path"), "object_id": ("query", "object_id"),
        "status": ("query", "status"), "with_idempotency_key": ("query", "idempotency_key"),
        "limit": ("query", "limit"), "cursor": ("query", "cursor")}),
    "inject_fault": ("post", "/sandbox/faults", {"fault": ("body", "fault"), "path": ("body", "path"),
                                                 "method": ("body", "method"), "times": ("body", "times"),
                                                 "delay_s": ("body", "delay_s"), **KEY}),
}
# (tool, argument, constraint): why the tool's is narrower than the API's.
NARROWER = {
    ("*", "limit", "maximum"): "a page an agent reads fits its context: 50 items at most, where the API pages 100",
    ("*", "payout_id", "pattern"): "an id's characters, so it is one path segment (the API's path has no pattern)",
    ("*", "event_id", "pattern"): "as payout_id",
    ("*", "endpoint_id", "pattern"): "as payout_id",
    ("*", "object_id", "pattern"): "as payout_id",
    ("request_log", "request_id", "pattern"): "printable ASCII, one path segment",
    ("request_log", "request_id", "minLength"): "an empty id would be another path",
    ("list_requests", "path", "pattern"): "a path: / and printable ASCII",
    ("list_requests", "path", "maxLength"): "200 characters is longer than any route",
    ("list_requests", "with_idempotency_key", "pattern"): "a key as the API takes it (its header's pattern)",
    ("*", "amount", "maxLength"): "the API's pattern takes at most 11 characters: 16 refuses nothing it takes",
    ("*", "opening_balance", "maxLength"): "as amount",
}


def _plain(schema: dict[str, Any]) -> dict[str, Any]:
    """The constraints of one field, whatever way it says "or null"."""
    for key in ("oneOf", "anyOf"):
        options = [o for o in schema.get(key, []) if o.get("type") != "null"]
        if options:
            schema = {**{k: v for k, v in schema.items() if k != key}, **options[0]}
    kept = {k: schema[k] for k in ("type", "enum", "const", "pattern", "maxLength", "minLength", "minimum",
                                   "maximum", "exclusiveMinimum", "maxItems", "minItems") if k in schema}
    if "const" in kept:
        kept["enum"] = [kept.pop("const")]
    if "enum" in kept:
        kept["enum"] = sorted(kept["enum"])
        kept.setdefault("type", "string")
    if "pattern" in kept:  # the spec's whole-string form and the tool's are the same text inside ^(?:…)$
        pattern = kept["pattern"].removeprefix("^(?:").removesuffix(")$").removeprefix("^").removesuffix("$")
        kept["pattern"] = pattern.replace('\\"', '"')  # the same regex: the published spec drops the escape
    for key in ("minimum", "maximum"):
        if key in kept:
            kept[key] = float(kept[key])
    if "items" in schema:
        kept["items"] = _plain(schema["items"])
    return kept


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    for key in ("oneOf", "anyOf"):
        for option in schema.get(key, []):
            if "$ref" in option:
                return _resolve(option)
    if "$ref" in schema:
        return SPEC["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _api_field(method: str, path: str, where: str, name: str) -> dict[str, Any]:
    operation = SPEC["paths"][P + path][method]
    if where == "body":
        body = _resolve(operation["requestBody"]["content"]["application/json"]["schema"])
        return body["properties"][name]
    [found] = [p["schema"] for p in operation.get("parameters", []) if p["in"] == where and p["name"] == name]
    return found


def _tools() -> dict[str, dict[str, Any]]:
    app = build(Sandbox("http://127.0.0.1:9", admin_key="sk_admin_x", deadline_s=60))
    return {t.name: t.input_schema for t in asyncio.run(app.list_tools())}


def test_every_tool_argument_that_is_an_api_field_has_the_apis_constraints():
    tools = _tools()
    differences = []
    for tool, (method, path, arguments) in FRONTS.items():
        for argument, (where, name) in arguments.items():
            ours = _plain(tools[tool]["properties"][argument])
            theirs = _plain(_api_field(method, path, where, name))
            for key in sorted(ours.keys() | theirs.keys()):
                if ours.get(key) == theirs.get(key):
                    continue
                if (tool, argument, key) in NARROWER or ("*", argument, key) in NARROWER:
                    assert key in ours, f"{tool}.{argument}: {key} is missing, not narrower"
                    continue
                differences.append(f"{tool}.{argument} {key}: tool {ours.get(key)!r}, API {theirs.get(key)!r}")
    assert not differences, "\n".join(differences)


def test_every_tool_that_calls_the_api_is_checked():
    assert set(_tools()) - set(FRONTS) == {"whoami", "forget_merchant", "scenarios", "failure_codes", "retry_verdict",
                                           "coverage", "gate"}


def test_the_agent_is_told_handles_are_credentials_and_what_a_restart_loses():
    tools = {t.name: t for t in asyncio.run(build(Sandbox("http://127.0.0.1:9", admin_key="sk_admin_x",
                                                          deadline_s=60)).list_tools())}
    said = tools["new_merchant"].description or ""
    assert "bearer credential" in said and "restarts" in said and "call new_merchant again" in said
    assert "bearer credential" in tools["create_payout"].input_schema["properties"]["merchant"]["description"]
    guide = (Path(__file__).parents[2] / "docs" / "coding-agents.md").read_text()
    assert "A handle, and a session id, are bearer credentials" in guide
    assert "A restart loses them all" in guide and "Start again with\n    `new_merchant`" in guide
