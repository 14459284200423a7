"""The rate limiter's one-round-trip copy (sandbox/ratelimits/sliding_window.py) against the
`limits` library it copies: the same random keys, limits, windows, costs and hit
sequences go to both, on a real Redis, and every hit must get the same decision, the
same RateLimit-Remaining and RateLimit-Reset values, and leave the same counters.

Both read time from Redis (key TTLs), so the Redis here runs under libfaketime with its
clock frozen: it moves only when the test advances it. Otherwise the library's second
round trip would see a millisecond more than the copy's single one now and then, and
the comparison would be about timing, not the algorithm."""

from __future__ import annotations

import asyncio
import math
import os
import secrets
import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from importlib.util import find_spec
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from limits import RateLimitItemPerHour, RateLimitItemPerMinute, RateLimitItemPerSecond
from limits.aio.storage import RedisStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from redis.exceptions import RedisError

from sandbox import redis_client
from sandbox.ratelimits.sliding_window import SlidingWindowCounter
from sandbox.runtime.embedded import redis_server_binary
from tests.helpers import free_port, wait_for

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
FAKETIME_LIB = Path(find_spec("libfaketime").submodule_search_locations[0]) / "vendor/libfaketime/src"


class FrozenClock:
    """The faked time the Redis server reads (libfaketime re-reads the file on every call)."""

    def __init__(self, path: Path) -> None:
        self.path, self.ms = path, 0
        self.set(0)

    def set(self, ms: int) -> None:
        self.ms = ms
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text((EPOCH + timedelta(milliseconds=ms)).strftime("%Y-%m-%d %H:%M:%S.%f"))
        tmp.replace(self.path)  # atomic: Redis never reads half a timestamp

    def advance(self, ms: int) -> None:
        self.set(self.ms + ms)


@pytest.fixture(scope="module")
async def frozen_redis():
    work = Path(tempfile.mkdtemp(prefix="sandbox-frozen-redis-"))
    clock = FrozenClock(work / "now")
    port = free_port()
    env = {**os.environ, "LD_LIBRARY_PATH": str(FAKETIME_LIB), "LD_PRELOAD": "libfaketime.so.1",
           # The monotonic clock is faked too: Valkey reckons its command time from it, so a real
           # one moved TIME and PTTL by microseconds between two calls on a frozen clock. Its
           # timers then never fire, which the test does not need: it only sends commands.
           "FAKETIME_TIMESTAMP_FILE": str(clock.path), "FAKETIME_NO_CACHE": "1"}
    process = await asyncio.create_subprocess_exec(
        redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
        "--appendonly", "no", "--dir", str(work), env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    client = aioredis.Redis(port=port)

    async def answers() -> bool:
        try:
            return await client.ping()
        except (OSError, RedisError):
            return False

    try:
        await wait_for(answers, timeout=10, what="the Redis server under libfaketime")
        # The clock really is frozen, and ours to move.
        assert int((await client.time())[0]) == int(EPOCH.timestamp())
        yield client, clock, port
    finally:
        await redis_client.forget_lean(client)  # the copy's connections (SlidingWindowCounter's)
        await client.aclose()
        # SIGKILL, not SIGTERM: Redis' SIGTERM handler logs a timestamp, and under
        # libfaketime that call can wait forever on the lock the interrupted main thread
        # holds (seen once: the server hung on a futex and the suite with it). It keeps
        # nothing on disk, so nothing is lost.
        process.kill()
        await process.wait()
        shutil.rmtree(work, ignore_errors=True)


ITEMS = st.one_of(
    st.builds(RateLimitItemPerSecond, st.integers(1, 12), st.integers(1, 5)),
    st.builds(RateLimitItemPerMinute, st.integers(1, 12), st.integers(1, 3)),
    st.builds(RateLimitItemPerHour, st.integers(1, 30)),
)
HIT = st.tuples(st.just("hit"), st.integers(0, 2), st.integers(0, 2), st.sampled_from([1, 1, 1, 2, 3]))
# Time moves by a share of one of the windows: exact halves and wholes (the boundaries,
# where a TTL equals the window), any share up to two and a half windows, a millisecond.
ADVANCE = st.tuples(st.just("advance"), st.integers(0, 2),
                    st.one_of(st.sampled_from([0.25, 0.5, 1.0, 1.5, 2.0]), st.floats(0, 2.5), st.just(0.001)))
SEQUENCES = st.lists(st.one_of(HIT, HIT, HIT, ADVANCE), min_size=1, max_size=60)


def headers(stats) -> tuple[int, int]:
    """RateLimit-Remaining and RateLimit-Reset, as the middleware writes them."""
    return max(0, stats.remaining), max(0, math.ceil(stats.reset_time - time.time()))


async def counters(client, prefix: str, item, key: str) -> list:
    current = f"{prefix}:{{{item.key_for(key)}}}"
    pipe = client.pipeline(transaction=False)
    for name in (f"{current}/-1", current):
        pipe.get(name)
        pipe.pttl(name)
    return await pipe.execute()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=st.lists(ITEMS, min_size=3, max_size=3), sequence=SEQUENCES)
async def test_copy_decides_as_the_library(frozen_redis, items, sequence):
    client, clock, port = frozen_redis
    run = secrets.token_hex(4)  # fresh counters for every example
    library_prefix, copy_prefix = f"lib{run}", f"copy{run}"
    storage = RedisStorage(f"async+redis://127.0.0.1:{port}", implementation="redispy", key_prefix=library_prefix)
    library = SlidingWindowCounterRateLimiter(storage)
    copy = SlidingWindowCounter(redis_client.lean(client), key_prefix=copy_prefix)
    keys = [f"key_{run}_{i}" for i in range(3)]
    clock.set(0)
    for step, (kind, *args) in enumerate(sequence):
        if kind == "advance":
            clock.advance(round(args[1] * items[args[0]].get_expiry() * 1000))
            continue
        key, item, cost = keys[args[0]], items[args[1]], args[2]
        allowed = await library.hit(item, key, cost=cost)
        stats = await library.get_window_stats(item, key)
        expected = (allowed, *headers(stats))
        copy_allowed, copy_stats = await copy.hit(item, key, cost=cost)
        got = (copy_allowed, *headers(copy_stats))
        assert got == expected, f"step {step} {item} cost {cost} at {clock.ms} ms"
        assert await counters(client, copy_prefix, item, key) == await counters(client, library_prefix, item, key)


async def test_limit_reached_and_window_slides(frozen_redis):
    """The copy on its own, in words: 3 a minute, the fourth refused, and half a window
    later half the previous window's hits still count."""
    client, clock, _ = frozen_redis
    copy, item, key = SlidingWindowCounter(redis_client.lean(client), key_prefix=f"t{secrets.token_hex(4)}"), \
        RateLimitItemPerMinute(3), "merchant"
    clock.set(0)
    decisions = [(await copy.hit(item, key))[0] for _ in range(4)]
    assert decisions == [True, True, True, False]
    clock.advance(90_000)  # the window shifted; 30 s of the previous one remain: 3 x 1/2 -> 1 counts
    allowed, stats = await copy.hit(item, key)
    assert allowed and stats.remaining == 1
