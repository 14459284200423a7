"""Writes that commit while another's Redis commands are on their way share the next
script call (sandbox/enqueue.py `_send`; a write that finds none on their way sends its
own at once): one round trip for many POSTs, and a wake or a
version bump that several of them asked for goes once, after all their commits. Each
caller still returns only once its own commands reached Redis, and one that cannot be
built fails its own write only."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from unittest import mock

import pytest
from arq.connections import ArqRedis
from arq.constants import default_queue_name
from redis.exceptions import ResponseError

from sandbox import enqueue as queue
from sandbox import redis_client
from sandbox.ledger import version

SCRATCH_DB = 14  # not the database the app and worker use


@pytest.fixture
async def redis(servers) -> AsyncIterator[tuple[ArqRedis, list[list[str]]]]:
    """A scratch Redis as the process's client, and the operations of every after-commit
    call sent through it, in order."""
    client = ArqRedis.from_url(servers[1], db=SCRATCH_DB)
    await client.flushdb()
    sent: list[list[str]] = []
    real_script = redis_client.Lean.script

    async def script(self, script, keys, args):
        if script is queue._AFTER_COMMIT:
            sent.append([operation[0] for operation in json.loads(args[0])])
        return await real_script(self, script, keys, args)

    try:
        with mock.patch.object(redis_client, "get", lambda: client), \
                mock.patch.object(redis_client.Lean, "script", script):
            yield client, sent
    finally:
        await client.flushdb()
        await redis_client.forget_lean(client)
        await client.aclose()


async def test_writes_committed_together_share_one_call_and_one_wake(redis) -> None:
    client, sent = redis

    async def commit(i: int) -> None:  # what a POST /payouts sends after its statement commits
        async with queue.one_call():
            await version.bump_after_commit("mch_shared")
            await queue.enqueue_unless_marked_after_commit("step_due", "test:step_due:queued", 60_000)
            await queue.enqueue_after_commit("step_payout", f"po_{i}", job_id=f"step:po_{i}")

    await asyncio.gather(*(commit(i) for i in range(40)))

    # The first commit's commands leave at once, alone; the 39 that committed while they
    # were out share the next call: two round trips for forty commits.
    assert len(sent) == 2, sent
    assert (sent[0].count("incrby_expire"), sent[0].count("enqueue_unless_marked"), sent[0].count("enqueue")) == \
        (1, 1, 1)
    # one bump, one wake, thirty-nine jobs
    assert (sent[1].count("incrby_expire"), sent[1].count("enqueue_unless_marked"), sent[1].count("enqueue")) == \
        (1, 1, 39)
    assert int(await client.get("ledger:version:mch_shared")) == 2
    assert await client.zcard(default_queue_name) == 41
    assert await client.exists("test:step_due:queued")


async def test_a_write_committed_after_the_last_call_left_is_sent_in_its_own(redis) -> None:
    """Nothing waits for company: one after the other, each commit's commands go at once,
    and each wake is asked again (the first may have started its job meanwhile)."""
    client, sent = redis
    for _ in range(2):
        async with queue.one_call():
            await version.bump_after_commit("mch_alone")
            await queue.enqueue_unless_marked_after_commit("step_due", "test:step_due:queued", 60_000)

    assert [names.count("enqueue_unless_marked") for names in sent] == [1, 1]
    assert int(await client.get("ledger:version:mch_alone")) == 2


async def test_a_command_that_cannot_be_built_fails_its_own_write_only(redis) -> None:
    client, sent = redis

    def broken(commands) -> None:
        raise ValueError("cannot be built")

    async def good() -> None:
        await queue.redis_after_commit(lambda commands: commands.incrby_expire("test:good", 1, 60))

    async def bad() -> None:
        await queue.redis_after_commit(broken)

    results = await asyncio.gather(good(), bad(), good(), return_exceptions=True)

    assert results[0] is None and results[2] is None
    assert isinstance(results[1], ValueError)
    # The first alone at once; the failed one and the last together, the last's sent.
    assert len(sent) == 2 and int(await client.get("test:good")) == 2


async def test_every_command_runs_and_the_first_error_is_raised_after_them(redis) -> None:
    """As in the pipeline the call replaced: a command Redis refuses (INCRBY of a key that
    holds a list) does not keep the others from running, and the writes that sent it hear
    of it."""
    client, sent = redis
    await client.rpush("test:a-list", "x")

    def add(commands) -> None:
        commands.incrby_expire("test:before", 1, 60)
        commands.incrby_expire("test:a-list", 1, 60)
        commands.incrby_expire("test:after", 1, 60)

    with pytest.raises(ResponseError, match="WRONGTYPE"):
        await queue.redis_after_commit(add)

    assert len(sent) == 1
    assert int(await client.get("test:before")) == 1 and int(await client.get("test:after")) == 1
    assert 0 < await client.ttl("test:after") <= 60


async def test_a_wake_that_a_worker_hears_queues_no_job_and_one_nobody_hears_does(redis) -> None:
    """`wake_unless_marked` (the `step_due` wake): published on its channel where the marker
    could be set; the job queued only when no worker listened (none yet, or only workers
    of a release that queues it), so no commit's steps wait for a sweep."""
    client, sent = redis
    channel = f"test:wake:{uuid.uuid4().hex}"  # channels are the server's: one of this test's own

    async with queue.one_call():
        await queue.enqueue_unless_marked_after_commit("step_due", "test:unheard", 60_000, channel=lambda _: channel)
    assert await client.zcard(default_queue_name) == 1  # nobody listened: queued

    pubsub = client.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(channel)
    try:
        async with queue.one_call():
            await queue.enqueue_unless_marked_after_commit("step_due", "test:heard", 60_000, channel=lambda _: channel)
        message = await pubsub.get_message(timeout=10)
        while message is None:  # the subscription's own reply, skipped, answers None first
            message = await pubsub.get_message(timeout=10)
        assert abs(float(message["data"]) - time.time() * 1000) < 60_000  # when it was sent, in ms
        assert await client.zcard(default_queue_name) == 1  # heard: nothing more queued
        assert await client.exists("test:heard")  # and marked, as a queued job's wake is
    finally:
        await pubsub.aclose()
    assert [names.count("wake_unless_marked") for names in sent] == [1, 1]


def test_the_step_due_wake_has_a_channel_per_redis_database(servers) -> None:
    # A sandbox on database 3 of a server must not hear (and so leave unqueued) the wakes of
    # one on database 0 of the same server.
    one, other = (ArqRedis.from_url(servers[1], db=n) for n in (0, 3))
    assert queue.step_due_channel(one) != queue.step_due_channel(other)
    assert queue.step_due_channel(other).endswith(":3")
