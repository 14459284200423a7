"""Per-request observation, wrapped around the whole ASGI app (outside routing, so
router 404s and 405s are seen too): starts the request's log context, refuses a NUL in
the path or query (observability/nul_guard.py) and a single-valued header sent twice
(guards/single_headers.py), adds the
`X-Request-ID` header to the answer, writes one log line per request, records its
latency for /metrics and tells the problem listeners what the request was refused
with. One wrapper for all: each ASGI layer costs a coroutine and a send wrapper on
every request.

Costs per request: two `perf_counter` calls, a dict for the context, one log record
(formatted and written by the log thread) and one histogram observation in memory."""

from __future__ import annotations

import logging
import re
from time import perf_counter

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.core import problem_answers
from sandbox.core.errors import ApiError, ValidationFailed
from sandbox.core.ids import REQUEST_ID_HEADER, ensure_request_id
from sandbox.guards import single_headers
from sandbox.observability import logs, metrics, nul_guard

log = logging.getLogger("sandbox.http")

SERVER_SEND = "asgi_server_send"
UNMATCHED = "unmatched"  # the route label of a request no route matched (any path: keep cardinality bounded)
# Clients may send any method name; the metric labels only these (the log line keeps it).
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# POST /payouts answers with the new payout first: `{"id":"po_…"` (msgspec keeps field order).
_CREATED_PAYOUT = re.compile(rb'\{"id":"(po_[0-9a-f]{1,64})"')


class ObservedApp:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = perf_counter()
        request_id = ensure_request_id(scope)
        # The server's own send: a fault that drops the connection needs it (ASGI has no
        # message for that); see sandbox/faults/effects.py.
        scope["state"][SERVER_SEND] = send
        ctx = logs.new_context(request_id=request_id)
        status = 500  # what the client gets if the app raises past every handler
        created = scope["method"] == "POST" and scope["path"].endswith("/payouts")

        async def observed_send(message: Message) -> None:
            nonlocal status, created
            if message["type"] == "http.response.start":
                # Appended as a raw pair: nothing else sets this header.
                message["headers"] = [*message.get("headers", ()), (REQUEST_ID_HEADER, request_id.encode())]
                status = message["status"]
                created = created and status == 201
            elif created and message["type"] == "http.response.body":
                created = False
                found = _CREATED_PAYOUT.match(message.get("body", b""))
                if found and not ctx.get("payout_id"):
                    ctx["payout_id"] = found.group(1).decode()
            await send(message)

        try:
            refused = nul_guard.refusal(scope) or _repeated_header(scope)
            if refused is None:
                await self.app(scope, receive, observed_send)
            else:
                await problem_answers.answer(scope, observed_send, refused)
        finally:
            elapsed = perf_counter() - started
            # The server's send refers to the scope: left in it, every request would end as a
            # reference cycle for the garbage collector instead of being freed at once.
            del scope["state"][SERVER_SEND]
            problem_answers.tell_listeners(scope)
            route = scope.get("path_template") or UNMATCHED
            method = scope["method"]
            metrics.HTTP.observe((route, method if method in METHODS else "other", f"{status // 100}xx"), elapsed)
            if not ctx.get("payout_id"):  # a route outside the authenticated ones (auth binds it there)
                payout_id = (scope.get("path_params") or {}).get("payout_id")
                if payout_id:
                    ctx["payout_id"] = payout_id
            if log.isEnabledFor(logging.INFO):
                # makeRecord + handle rather than log.info, which also walks the stack to
                # find the caller for a file and line no line shows: a cost on every
                # request for nothing (figure in docs/benchmark.md).
                log.handle(log.makeRecord(log.name, logging.INFO, __file__, 0, "%s %s %d", (method, route, status),
                                          None, extra={"method": method, "route": route, "path": scope["path"],
                                                       "status": status, "duration_ms": round(elapsed * 1000, 2)}))


def _repeated_header(scope: Scope) -> ApiError | None:
    """A header that carries one value, sent twice: refused before any reader picks a copy."""
    header = single_headers.repeated(scope["headers"])
    return None if header is None else ValidationFailed.field(header, single_headers.words(header))


def observe(app) -> None:
    """Wrap a Litestar app's ASGI handler (every route and every error answer goes through it)."""
    app.asgi_handler = ObservedApp(app.asgi_handler)
