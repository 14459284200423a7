"""One listener's stream: server-sent events, opened by the listener (the connection goes
outward, from wherever the receiver is, to the sandbox).

While it is open the stream keeps the endpoint's presence in Redis (renewed every
`RENEW_S`), so attempts send their requests to the endpoint's queue rather than park; at
open and at every renewal it un-parks what was parked meanwhile (deliveries made while no
listener was connected, or in the moment before this one was seen) and wakes a worker's
sweep to take them. Then it pops requests from the queue and sends each as an
`event: delivery` whose `data` is the request (`ListenerRequest`).

Bounded: the stream holds at most `BATCH` requests popped and not yet written, and the
queue holds no more than the attempts that wait on it (each worker's window, `Slots`). A
listener that reads slowly stops the stream's writes, then its pops; attempts then wait
on their answers, holding their slots, and no more are made: a slow receiver slows the
stream, and nothing grows."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncGenerator
from typing import cast

import msgspec
from litestar.response import ServerSentEventMessage

from sandbox import redis_client
from sandbox.health.going_away import unless_ended
from sandbox.webhooks.delivery import listener_link
from sandbox.webhooks.store import deliveries

log = logging.getLogger("sandbox.webhooks")

RENEW_S = listener_link.PRESENCE_S / 3
BATCH = 100  # requests popped at once
POP_WAIT_S = 1  # a pop waits this long for a request before the stream looks at the clock
SWEEP_JOB = "webhook_sweep"  # the worker's sweeper, which has its pool take due deliveries

_request = msgspec.json.Decoder(listener_link.ListenerDelivery)


async def _present(endpoint_id: str, stream_id: str) -> None:
    redis = redis_client.get()
    key = listener_link.streams_key(endpoint_id)
    expires = int((time.time() + listener_link.PRESENCE_S) * 1000)
    async with redis.pipeline(transaction=False) as pipe:
        pipe.zadd(key, {stream_id: expires})
        pipe.pexpire(key, int(listener_link.PRESENCE_S * 1000))
        await pipe.execute()


async def _unpark(endpoint_id: str) -> None:
    if await deliveries.unpark(endpoint_id):
        await redis_client.get().enqueue_job(SWEEP_JOB)


async def events(endpoint_id: str, window: int) -> AsyncGenerator[ServerSentEventMessage, None]:
    """The stream's events, until the listener goes away."""
    stream_id = uuid.uuid4().hex
    redis = redis_client.get()
    queue = listener_link.queue_key(endpoint_id)
    await _present(endpoint_id, stream_id)
    try:
        ready = msgspec.json.encode({"endpoint_id": endpoint_id, "window": window}).decode()
        yield ServerSentEventMessage(data=ready, event="ready")
        await _unpark(endpoint_id)
        renew_at = time.monotonic() + RENEW_S
        while True:
            # (redis-py types each command's answer as "an awaitable or the value": async here)
            # (ended by the server's stop: sandbox/health/going_away.py)
            popped = cast("list[bytes] | None", await unless_ended(redis.blpop([queue], timeout=POP_WAIT_S)))  # pyright: ignore[reportGeneralTypeIssues, reportArgumentType]
            if popped is not None:
                more = cast("list[bytes] | None", await redis.lpop(queue, BATCH - 1))  # pyright: ignore[reportGeneralTypeIssues]
                batch = [popped[1], *(more or [])]
                now_ms = time.time() * 1000
                for raw in batch:
                    request = _request.decode(raw)
                    if request.expires_at_ms > now_ms:  # else its attempt has given up: not worth sending
                        yield ServerSentEventMessage(data=bytes(raw).decode(), event="delivery", id=request.id)
            if time.monotonic() >= renew_at:
                await _present(endpoint_id, stream_id)
                await _unpark(endpoint_id)
                renew_at = time.monotonic() + RENEW_S
                yield ServerSentEventMessage(comment="alive")
    finally:
        with contextlib.suppress(Exception):
            await asyncio.shield(redis.zrem(listener_link.streams_key(endpoint_id), stream_id))
