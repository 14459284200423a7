"""A server that is stopping ends its event streams at once, each with a last event that
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
event stops waiting (`unless_going_away`), and one sending a batch stops after the event it
is sending. Its connection then closes, and the process goes on to its shutdown steps.

One process serves one app, so the state is the process's."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable
from typing import Annotated, TypeVar

import msgspec
from litestar.response import ServerSentEventMessage

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
    """Raised where a stream waits, once the server has begun to stop."""


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


async def unless_going_away(awaitable: Awaitable[T]) -> T:
    """`awaitable`'s result, or Stopping as soon as the server begins to stop (the wait
    is cancelled then). A cancellation from elsewhere (the client left) is passed on."""
    if _going:
        if asyncio.iscoroutine(awaitable):
            awaitable.close()
        raise Stopping
    wait = asyncio.ensure_future(awaitable)
    _waits.add(wait)
    try:
        return await wait
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if _going and wait.cancelled() and not (task is not None and task.cancelling()):
            raise Stopping from None
        raise
    finally:
        _waits.discard(wait)


def last_event(last_id: str | int | None) -> ServerSentEventMessage:
    data = msgspec.json.encode(GoingAway(reason=REASON, retry_ms=RETRY_MS)).decode()
    return ServerSentEventMessage(data=data, event=EVENT, id=last_id, retry=RETRY_MS)


async def ending(events: AsyncGenerator[ServerSentEventMessage, None]) -> AsyncIterator[ServerSentEventMessage]:
    """`events` until the server begins to stop, then `event: going_away` and the end."""
    last_id: str | int | None = None
    try:
        async for message in events:
            if message.id is not None:
                last_id = message.id
            yield message
            if _going:
                break
    except Stopping:
        pass
    finally:
        with contextlib.suppress(Exception):
            await events.aclose()  # its own `finally` runs now, not whenever it is collected
    if _going:
        yield last_event(last_id)
