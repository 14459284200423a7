"""How an event stream ends early: at once, with a last event that says why. Two reasons:
the server is stopping (`event: going_away`: reconnect), or the key that opened the stream
stopped working (`event: key_revoked`: do not reconnect with it; sandbox/auth/held.py says
how a revocation reaches every API process).

A server that is stopping ends its event streams at once, each with a last event that
says so, instead of waiting for their clients to leave.

uvicorn, told to stop (SIGTERM), stops accepting connections, asks each open one to
close once its answer is complete, and waits for them: a server-sent event stream is one
answer that never completes, so every stop with a `sandbox listen` or `sandbox logs tail`
attached waited out its grace period and was then killed. uvicorn has no hook for "the
server is stopping" that an app sees; what it does call is each connection protocol's
`shutdown()`, at that very moment, and our protocol passes it on here (`begin`,
sandbox/runtime/serving.py).

From then on every stream (`ending`) sends `event: going_away` (`data` `{"reason",
"retry_ms"}`, SSE `retry` the same, SSE `id` the last id the stream sent, so a client that
sends it back as `Last-Event-ID` resumes there) and ends. A stream waiting for its next
event stops waiting (`unless_ended`), and one sending a batch stops after the event it
is sending. Its connection then closes, and the process goes on to its shutdown steps.
A stream whose key stops working ends the same way, alone, with `event: key_revoked`.

One process serves one app, so the server's state is the process's; a stream's own (its
`Held`) is found through `held.CURRENT`, set by `ending` in the task that sends the stream."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable
from typing import Annotated, TypeVar

import msgspec
from litestar.response import ServerSentEventMessage

from sandbox.auth import held as holds
from sandbox.auth.principal import Principal
from sandbox.core.types import said

EVENT = "going_away"
# How long a client waits before it reconnects (the SSE `retry` field, which browsers'
# EventSource follows): long enough for the next server to be taking connections where a
# load balancer already sends them elsewhere, short enough that a listener misses little.
RETRY_MS = 500
REASON = "the server is stopping; reconnect (with Last-Event-ID) to resume"

T = TypeVar("T")

_going = False
_waits: set[asyncio.Future] = set()


class Stopping(Exception):
    """Raised where a stream waits, once the server has begun to stop or its key stopped working."""


class GoingAway(msgspec.Struct):
    """A stream's last event when the server stops (`event: going_away`): reconnect after
    `retry_ms`, with the stream's last `id` as `Last-Event-ID`."""

    reason: Annotated[str, said("Why the stream ended, in words")]
    retry_ms: Annotated[int, said("Milliseconds to wait before reconnecting (also the event's SSE `retry`)")]


def begin() -> None:
    """The server is stopping: every stream ends after its current event. Idempotent
    (uvicorn calls it once per open connection)."""
    global _going
    _going = True
    for wait in list(_waits):
        wait.cancel()


def _ended(held: holds.Held | None) -> bool:
    return _going or (held is not None and held.cause is not None)


async def unless_ended(awaitable: Awaitable[T]) -> T:
    """`awaitable`'s result, or Stopping as soon as the server begins to stop or the stream's
    key stops working (the wait is cancelled then). A cancellation from elsewhere (the client
    left) is passed on."""
    held = holds.CURRENT.get()
    if _ended(held):
        if asyncio.iscoroutine(awaitable):
            awaitable.close()
        raise Stopping
    wait = asyncio.ensure_future(awaitable)
    _waits.add(wait)
    if held is not None:
        held.waits.add(wait)
    try:
        return await wait
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if _ended(held) and wait.cancelled() and not (task is not None and task.cancelling()):
            raise Stopping from None
        raise
    finally:
        _waits.discard(wait)
        if held is not None:
            held.waits.discard(wait)


def last_event(last_id: str | int | None) -> ServerSentEventMessage:
    data = msgspec.json.encode(GoingAway(reason=REASON, retry_ms=RETRY_MS)).decode()
    return ServerSentEventMessage(data=data, event=EVENT, id=last_id, retry=RETRY_MS)


def revoked_event(held: holds.Held, last_id: str | int | None) -> ServerSentEventMessage:
    return ServerSentEventMessage(data=msgspec.json.encode(held.last_words()).decode(), event=holds.EVENT,
                                  id=last_id)


async def ending(events: AsyncGenerator[ServerSentEventMessage, None], kind: str,
                 principal: Principal) -> AsyncIterator[ServerSentEventMessage]:
    """`events` until the server begins to stop (then `event: going_away`) or the key that
    opened the stream stops working (then `event: key_revoked`), and the end. The stream is
    held (sandbox/auth/held.py) for `principal`'s key while it lasts."""
    last_id: str | int | None = None
    with holds.holding(kind, principal) as held:
        holds.CURRENT.set(held)  # for unless_ended, in this task: the one that sends the stream
        try:
            await holds.check_quietly(held)  # its key may have stopped working since the request's key check
            if not _ended(held):
                async for message in events:
                    if message.id is not None:
                        last_id = message.id
                    yield message
                    if _ended(held):
                        break
        except Stopping:
            pass
        finally:
            with contextlib.suppress(Exception):
                await events.aclose()  # its own `finally` runs now, not whenever it is collected
        if held.cause is not None:
            yield revoked_event(held, last_id)
        elif _going:
            yield last_event(last_id)
