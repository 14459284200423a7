"""sandbox/enqueue.py enqueues with a one-round-trip Lua copy of arq's
`ArqRedis.enqueue_job`. A copy is only allowed while it decides exactly as the library
does: this drives both with the same random sequences of enqueues (job ids that repeat,
ids that already have a result, delays, arguments, marked enqueues) against real Redis,
and asserts the same answers and the same Redis state afterwards (job payloads, their
expiry, the queue's members and scores, markers). It fails when an arq upgrade changes
what enqueueing writes."""

from __future__ import annotations

import asyncio
import itertools
from datetime import timedelta
from types import SimpleNamespace
from unittest import mock

import arq.connections
import pytest
from arq.connections import ArqRedis
from arq.constants import result_key_prefix
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sandbox import enqueue as queue
from sandbox import redis_client

NOW_MS = 1_800_000_000_000
MARKER_TTL_MS = 60_000
SCRATCH_DB = 15  # not the database the app and worker use

job_ids = st.sampled_from(["a", "b", "c", None])  # None: a fresh id each time
delays = st.sampled_from([None, 0, 1, 999, 5_000, 3_600_000])  # ms; never negative here
calls = st.one_of(
    st.tuples(st.just("enqueue"), st.sampled_from(["payout_step", "webhook_deliver"]),
              st.lists(st.one_of(st.integers(-5, 5), st.text(max_size=3)), max_size=2), job_ids, delays),
    st.tuples(st.just("after_commit"), st.just("payout_step"), st.lists(st.integers(0, 3), max_size=1), job_ids,
              st.just(None)),
    st.tuples(st.just("unless_marked"), st.just("webhook_relay"), st.just([]), st.sampled_from(["m1", "m2"]),
              st.just(None)),
    st.tuples(st.just("has_result"), st.just(""), st.just([]), st.sampled_from(["a", "b"]), st.just(None)),
)


def defer(delay: int | None) -> timedelta | None:
    return None if delay is None else timedelta(milliseconds=delay)


class Arq:
    """The library: what each call of the copy stands for."""

    @staticmethod
    async def enqueue(redis: ArqRedis, function, args, job_id, delay) -> bool:
        return await redis.enqueue_job(function, *args, _job_id=job_id, _defer_by=defer(delay)) is not None

    after_commit = enqueue  # arq has one way to enqueue

    @staticmethod
    async def unless_marked(redis: ArqRedis, function, marker) -> None:
        if await redis.set(marker, "1", nx=True, px=MARKER_TTL_MS):
            await redis.enqueue_job(function)
        else:  # the copy draws a fresh id before it asks: draw one too, so later ids match
            arq.connections.uuid4()


class Copy:
    """sandbox/enqueue.py. After-commit calls outside a transaction are sent at once."""

    @staticmethod
    async def enqueue(redis: ArqRedis, function, args, job_id, delay) -> bool:
        return await queue.enqueue(function, *args, job_id=job_id, delay=defer(delay))

    @staticmethod
    async def after_commit(redis: ArqRedis, function, args, job_id, delay) -> None:
        await queue.enqueue_after_commit(function, *args, job_id=job_id)

    @staticmethod
    async def unless_marked(redis: ArqRedis, function, marker) -> None:
        await queue.enqueue_unless_marked_after_commit(function, marker, MARKER_TTL_MS)


async def drive(redis: ArqRedis, side, ops) -> list:
    """Apply `ops` through one side; the answers of the calls that give one."""
    answers = []
    for kind, function, args, key, delay in ops:
        if kind == "has_result":
            await redis.set(result_key_prefix + key, b"done")
        elif kind == "unless_marked":
            await side.unless_marked(redis, function, key)
        else:
            answer = await getattr(side, kind)(redis, function, args, key, delay)
            answers.append(answer if kind == "enqueue" else None)
    return answers


async def state(redis: ArqRedis) -> dict:
    """Every key: its value (or the sorted set's members and scores) and its TTL."""
    out = {}
    for key in sorted(await redis.keys("*")):
        if (await redis.type(key)) == b"zset":
            out[key] = ("zset", await redis.zrange(key, 0, -1, withscores=True))
        else:
            out[key] = ("string", await redis.get(key), await redis.pttl(key))
    return out


def same(arq_state: dict, copy_state: dict) -> bool:
    """Equal, TTLs within a second (the two runs read them moments apart)."""
    if arq_state.keys() != copy_state.keys():
        return False
    for key, theirs in arq_state.items():
        ours = copy_state[key]
        if theirs[:2] != ours[:2] or (theirs[0] == "string" and abs(theirs[2] - ours[2]) > 1000):
            return False
    return True


@pytest.fixture(scope="module")
def redis_url(servers) -> str:
    return servers[1]


def fresh_ids():
    counter = itertools.count()
    return lambda: SimpleNamespace(hex=f"id{next(counter)}")


async def run(redis_url: str, side, ops):
    redis = ArqRedis.from_url(redis_url, db=SCRATCH_DB)
    try:
        await redis.flushdb()
        # The same clock and the same fresh ids for both, so payloads and scores compare.
        with mock.patch.object(redis_client, "get", lambda: redis), \
                mock.patch.object(queue, "timestamp_ms", lambda: NOW_MS), \
                mock.patch.object(arq.connections, "timestamp_ms", lambda: NOW_MS), \
                mock.patch.object(queue, "uuid4", fresh_ids()), \
                mock.patch.object(arq.connections, "uuid4", fresh_ids()), \
                mock.patch.object(queue, "_script", None):
            answers = await drive(redis, side, ops)
        return answers, await state(redis)
    finally:
        await redis.flushdb()
        await redis_client.forget_lean(redis)
        await redis.aclose()


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(calls, max_size=12))
def test_the_lua_copy_decides_and_writes_as_arq_does(redis_url, ops):
    theirs, arq_state = asyncio.run(run(redis_url, Arq, ops))
    ours, copy_state = asyncio.run(run(redis_url, Copy, ops))
    assert ours == theirs
    assert same(arq_state, copy_state), (arq_state, copy_state)


def test_the_copy_names_the_arq_version_it_follows():
    """An arq upgrade must be a deliberate step: the test above runs against it, and the
    version named in the copy is updated with it."""
    from importlib.metadata import version

    assert f"arq {version('arq')}" in queue.__doc__
