"""NUL in a path or query string: answered before any handler sees it.

PostgreSQL refuses NUL in text, so an id or filter holding one (`/payouts/%00`,
`?reference=%00`) would reach the database only to fail there. No id of ours holds a
NUL, so a path with one names nothing (404); a query value with one is invalid input
(400 naming the parameter). The request-observing wrapper (observability/observe.py), which
sees every request before routing, answers what `refusal` returns: one layer fewer
on every request than a middleware of its own."""

from __future__ import annotations

from urllib.parse import parse_qsl

from litestar.types import Scope

from sandbox.core.errors import ApiError, NotFound, ValidationFailed, clip


def refusal(scope: Scope) -> ApiError | None:
    """What to answer a request holding a NUL with; None for every other request."""
    if "\x00" in scope["path"]:
        return NotFound("No such route or object")
    query = scope.get("query_string", b"")
    if query and (b"%00" in query or b"\x00" in query):
        for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
            if "\x00" in name or "\x00" in value:
                return ValidationFailed.field(clip(name.replace("\x00", "?"), 40) or "query",
                                              "must not contain a NUL character")
    return None
