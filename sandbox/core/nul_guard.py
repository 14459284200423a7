"""NUL in a path or query string: answered before any handler sees it.

PostgreSQL refuses NUL in text, so an id or filter holding one (`/payouts/%00`,
`?reference=%00`) would reach the database only to fail there. No id of ours holds a
NUL, so a path with one names nothing (404); a query value with one is invalid input
(400 naming the parameter)."""

from __future__ import annotations

from urllib.parse import parse_qsl

from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from sandbox.core.errors import NotFound, ValidationFailed, clip


class NulGuardMiddleware(ASGIMiddleware):
    scopes = ("http",)  # type: ignore[assignment]

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if "\x00" in scope["path"]:
            raise NotFound("No such route or object")
        query = scope.get("query_string", b"")
        if query and (b"%00" in query or b"\x00" in query):
            for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
                if "\x00" in name or "\x00" in value:
                    raise ValidationFailed.field(clip(name.replace("\x00", "?"), 40) or "query",
                                                 "must not contain a NUL character")
        await next_app(scope, receive, send)
