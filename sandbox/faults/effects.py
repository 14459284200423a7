"""What a fault does to a request, in the gate (sandbox/api/gate.py's order: the key
authenticated, then the fault, then everything else).

A fault before anything answers or waits before the rate limit counts the request and
before its idempotency key is claimed. A fault after commit wraps the `send` the request
is answered through: every route answers only after its effect is committed (the
idempotency middleware sends once its transaction has ended), so whatever the wrapper
does, the effect is made and the key holds the true answer; and no database connection
or row lock is held while it waits."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from litestar.types import Message, Scope, Send

from sandbox.core.errors import ApiError, RateLimited, Unavailable, ValidationFailed
from sandbox.core.problem_answers import answer
from sandbox.faults import store
from sandbox.faults.exempt import exempt
from sandbox.faults.kinds import AFTER_COMMIT, HEADER, KINDS, RETRY_AFTER_S, default_delay
from sandbox.observability.observe import SERVER_SEND


class ResponseLost(Exception):
    """Raised where the connection could not be dropped (an in-process ASGI client): the
    client then sees an exception, not an answer."""


def _header(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == HEADER:
            return value.decode("latin-1").strip()
    return None


async def pick(scope: Scope, method: str, merchant_id: str, has_rules: bool) -> tuple[str, float] | None:
    """The request's fault: the `X-Sandbox-Fault` header's (no rule is spent), else the
    merchant's first matching rule's (one of its uses spent). `has_rules` comes with the
    key, so a merchant without rules pays no query. Exempt routes (exempt.py) get none."""
    route = scope.get("path_template") or scope["path"]
    if exempt(route):
        return None
    kind = _header(scope)
    if kind is not None:
        if kind not in KINDS:
            raise ValidationFailed.field("X-Sandbox-Fault", "must be one of " + ", ".join(sorted(KINDS)))
        return kind, default_delay(kind)
    if not has_rules:
        return None
    return await store.take(merchant_id, method, route, scope["path"])


async def before(kind: str, delay_s: float) -> None:
    """Raise the refusal of a fault before anything, or wait for `slow`."""
    retry_after = {"Retry-After": str(RETRY_AFTER_S)}
    if kind == "unavailable":
        raise Unavailable("The sandbox refused this request on purpose (fault unavailable); retry later",
                          headers=retry_after)
    if kind == "rate_limited":
        raise RateLimited("The sandbox refused this request on purpose (fault rate_limited); retry later",
                          headers=retry_after)
    if kind == "slow":
        await asyncio.sleep(delay_s)


class ErrorAfterCommit(ApiError):
    status, code, title = 500, "internal_error", "Internal error"


def _drop_connection(scope: Scope) -> bool:
    """Close the connection at once, without a byte of the answer: through the server's
    transport (uvicorn's request cycle keeps it beside its `send`), the only way, since
    ASGI has no message for it."""
    server_send = scope["state"].get(SERVER_SEND)
    transport = getattr(getattr(server_send, "__self__", None), "transport", None)
    if transport is None:
        return False
    transport.abort()
    return True


def after_commit(kind: str, delay_s: float, scope: Scope, send: Send, answered: Callable[[], None]) -> Send:
    """`send`, changed as the fault after commit says. The true answer is taken whole
    first and `answered()` is told (the request log records it then, not after the hold),
    then the fault acts on it."""
    assert kind in AFTER_COMMIT
    held: list[Message] = []

    async def faulted(message: Message) -> None:
        held.append(message)
        if message["type"] != "http.response.body" or message.get("more_body", False):
            return
        answered()
        if kind == "timeout":
            await asyncio.sleep(delay_s)
            for part in held:
                await send(part)
        elif kind == "error_after_commit":
            await answer(scope, send, ErrorAfterCommit(
                "The sandbox answered 500 on purpose after committing the request (fault error_after_commit);"
                " retry with the same idempotency key to get the true answer"))
        else:  # response_lost: not a byte of the answer goes out
            if not _drop_connection(scope):
                raise ResponseLost("fault response_lost: the connection closed without a response")
            await asyncio.sleep(0)  # the server learns of the closed connection before the app returns

    return faulted
