"""The two server-sent event streams in the spec: what each event's `data` is. Litestar
knows only that they answer `text/event-stream`; OpenAPI 3.1 has no words for a stream of
events, so each answer's schema says it in `description` and names each event's shape in
`x-events` (a component, as every other shape)."""

from __future__ import annotations

import inspect

import msgspec

LISTENER_STREAM = "streamWebhookListener"
REQUEST_STREAM = "streamRequests"

GOING_AWAY_WORDS = (
    "When the server stops (SIGTERM: a restart, a rollout, a scale-down), the stream ends at once with a last "
    "`event: going_away`, its `data` `{\"reason\", \"retry_ms\"}`, its SSE `retry` the same milliseconds and its "
    "SSE `id` the last id the stream sent: reconnect after `retry_ms` (to this address: another server takes it), "
    "sending that id back as `Last-Event-ID`. When the API key that opened the stream stops working (revoked, "
    "rolled and past its overlap, or its merchant or team removed), the stream ends within a second with a last "
    "`event: key_revoked`, its `data` `{\"code\", \"reason\"}`: do not reconnect with that key.")
LISTENER_WORDS = (
    "Server-sent events for as long as the connection stays open (the listener's side: `sandbox listen`, "
    "docs/listening.md). First `event: ready` (`data` `{\"endpoint_id\", \"window\"}`); then one `event: delivery` "
    "per request to forward, its `data` a `ListenerRequest` and its SSE `id` the request's; a `: alive` comment "
    "every 5 s. For each delivery POST `body` (as UTF-8, byte for byte: the signature covers it) with `headers` "
    "to the receiver, then POST its answer to `/webhook-listeners/{endpoint_id}/acks` before `expires_at_ms`. "
    "An unanswered request is an attempt with no answer: recorded and retried on the webhook schedule, so "
    "delivery is at least once and a reconnecting listener needs no `Last-Event-ID`. At most `window` requests "
    "per worker process are unanswered at a time: answer slowly and the stream slows. Deliveries made while no "
    "listener was connected are sent when one connects. Listeners of one endpoint (one `name`) share its "
    "deliveries: each request goes down one stream. " + GOING_AWAY_WORDS)
REQUEST_WORDS = (
    "Server-sent events for as long as the connection stays open (`sandbox logs tail`): one `event: request` per "
    "matching request once its log entry is written (about a quarter of a second after its answer), its `data` "
    "a `LoggedRequest` (the same redaction as the request log) and its SSE `id` the entry's place in the log, "
    "which `Last-Event-ID` or `?after=` resumes after; a `: alive` comment every 5 s. The first message, a "
    "`: tailing` comment, carries as its `id` where the stream starts, so a client that loses the stream before "
    "any entry resumes from there. `sandbox listen`'s own answers (`POST /webhook-listeners/{endpoint_id}/acks`) "
    "are left out. " + GOING_AWAY_WORDS)


def schema_components(types: list[type] | tuple[type, ...],
                      ref_template: str = "#/$defs/{name}") -> tuple[tuple[dict, ...], dict[str, dict]]:
    """msgspec's JSON Schemas of `types`, each Struct's docstring (its `description`) the same
    on every Python: unindented, as Python 3.13 compiles docstrings (3.11 kept the indentation
    of their second and later lines, and the published spec differed by the Python that wrote it)."""
    refs, defs = msgspec.json.schema_components(types, ref_template=ref_template)
    for schema in defs.values():
        if "description" in schema:
            schema["description"] = inspect.cleandoc(schema["description"])
    return refs, defs


def event_streams(spec: dict) -> None:
    from sandbox.auth.held import EVENT as REVOKED
    from sandbox.auth.held import Revoked
    from sandbox.health.going_away import EVENT, GoingAway
    from sandbox.requests.schemas import LoggedRequest
    from sandbox.webhooks.model.listener_schemas import ListenerRequest

    schemas = spec["components"]["schemas"]
    _, defs = schema_components([ListenerRequest, LoggedRequest, GoingAway, Revoked], ref_template="#/components/schemas/{name}")
    for name, schema in defs.items():
        schemas.setdefault(name, schema)
    last = {EVENT: "GoingAway", REVOKED: "Revoked"}
    streams = {LISTENER_STREAM: (LISTENER_WORDS, {"delivery": "ListenerRequest", **last}),
               REQUEST_STREAM: (REQUEST_WORDS, {"request": "LoggedRequest", **last})}
    for item in spec["paths"].values():
        for op in item.values():
            if isinstance(op, dict) and op.get("operationId") in streams:
                words, events = streams[op["operationId"]]
                # Each event as an SSE reader parses it (schemathesis checks each against this):
                # its fields are text; `x-events` names what `data` holds, by event.
                op["responses"]["200"]["content"]["text/event-stream"] = {"schema": {
                    "type": "object", "description": words,
                    "properties": {field: {"type": "string", "description": f"the event's `{field}` field"}
                                   for field in ("event", "data", "id", "retry")},
                    "x-events": {event: {"$ref": f"#/components/schemas/{name}"} for event, name in events.items()}}}
                op["description"] = f"{words}\n\n{op['description']}" if op.get("description") else words
