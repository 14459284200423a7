"""The metrics flusher's stop, the first of a server process's last steps at SIGTERM: it ends
well inside the step's 5 s deadline, and writes what is pending, also when its background
task is slow to end (a fold cancelled inside asyncpg) or when Redis does not answer."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator
from unittest import mock

import pytest
from redis.asyncio import Redis

from sandbox import redis_client
from sandbox.observability import counts as metric_counts
from sandbox.observability import metrics
from sandbox.runtime.shutdown import STEP_DEADLINE_S

SCRATCH_DB = 13  # not the database the app and worker use


@pytest.fixture
async def scratch(servers) -> AsyncIterator[Redis]:
    client = Redis.from_url(servers[1], db=SCRATCH_DB)
    await client.flushdb()
    try:
        with mock.patch.object(redis_client, "get", lambda: client):
            yield client
    finally:
        await client.flushdb()
        await client.aclose()


async def a_fold_slow_to_cancel() -> None:
    """asyncpg's way with a cancelled statement, as seen under load: the cancel is sent on a
    new connection and the caller gets its error only once that is done."""
    try:
        await asyncio.sleep(60)
    except asyncio.CancelledError:
        await asyncio.sleep(30)
        raise


async def test_a_stop_during_a_slow_fold_still_writes_the_last_observations_in_time(scratch) -> None:
    route = f"/stop-during-fold-{time.time_ns()}"
    with mock.patch.object(metric_counts, "FOLD_EVERY_S", 0.0), \
            mock.patch.object(metric_counts, "fold", a_fold_slow_to_cancel):
        flusher = metrics.Flusher(0.05)
        flusher.start()
        await asyncio.sleep(0.3)  # the loop is now inside the fold (it never returns)
        metrics.HTTP.observe((route, "GET", "2xx"), 0.02)
        started = time.monotonic()
        await flusher.stop()
        took = time.monotonic() - started
    assert took < metrics.CANCEL_WAIT_S + 1.0 < STEP_DEADLINE_S, f"stop took {took:.2f} s"
    stored = await scratch.hgetall(metrics.HTTP.key)
    mine = {field.decode().rsplit("|", 1)[1]: value for field, value in stored.items()
            if field.decode().startswith(route)}
    assert float(mine.get("sum", 0)) == pytest.approx(0.02), stored


async def test_a_stop_with_redis_silent_ends_in_time_and_says_what_it_could_not_write(caplog) -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()  # accepts, never answers: a frozen Redis
    client = Redis(host="127.0.0.1", port=silent.getsockname()[1])
    route = f"/stop-redis-silent-{time.time_ns()}"
    try:
        with mock.patch.object(redis_client, "get", lambda: client), caplog.at_level(logging.WARNING):
            flusher = metrics.Flusher(60)
            flusher.start()
            for _ in range(3):
                metrics.HTTP.observe((route, "POST", "2xx"), 0.01)
            started = time.monotonic()
            await flusher.stop()
            took = time.monotonic() - started
    finally:
        await client.aclose()
        silent.close()
    assert took < metrics.LAST_FLUSH_S + 1.0 < STEP_DEADLINE_S, f"stop took {took:.2f} s"
    said = [r.getMessage() for r in caplog.records if r.name == metrics.log.name]
    assert any("did not answer within 3 s" in m and "observations not written" in m for m in said), said
    assert not any(route in "|".join(labels) for labels in metrics.HTTP.take()), "kept after saying it dropped them"
