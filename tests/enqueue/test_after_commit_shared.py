"""Writes that commit while another's Redis commands are on their way share the next
pipeline (sandbox/enqueue.py `_Sender`): one round trip for many POSTs, and a wake or a
version bump that several of them asked for goes once, after all their commits. Each
caller still returns only once its own commands reached Redis, and one that cannot be
built fails its own write only."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from unittest import mock

import pytest
from arq.connections import ArqRedis
from arq.constants import default_queue_name

from sandbox import enqueue as queue
from sandbox import redis_client
from sandbox.ledger import version

SCRATCH_DB = 14  # not the database the app and worker use
METRICS_FLUSH = {"HINCRBY", "HINCRBYFLOAT"}


@pytest.fixture
async def redis(servers) -> AsyncIterator[tuple[ArqRedis, list[list[str]]]]:
    """A scratch Redis as the process's client, and the command names of every pipeline
    sent through it, in order."""
    client = ArqRedis.from_url(servers[1], db=SCRATCH_DB)
    await client.flushdb()
    sent: list[list[str]] = []
    real_pipeline = client.pipeline

    def pipeline(*args, **kwargs):
        pipe = real_pipeline(*args, **kwargs)
        real_execute = pipe.execute

        async def execute(*a, **kw):
            names = [str(command[0][0]) for command in pipe.command_stack]
            # The app's metrics flush (observability/metrics.py) runs beside the test in this
            # event loop and may use the patched client meanwhile: not a write's commands.
            if not set(names) <= METRICS_FLUSH:
                sent.append(names)
            return await real_execute(*a, **kw)

        pipe.execute = execute
        return pipe

    try:
        with mock.patch.object(redis_client, "get", lambda: client), mock.patch.object(client, "pipeline", pipeline):
            yield client, sent
    finally:
        await client.flushdb()
        await client.aclose()


async def test_writes_committed_together_share_one_pipeline_and_one_wake(redis) -> None:
    client, sent = redis

    async def commit(i: int) -> None:  # what a POST /payouts sends after its statement commits
        async with queue.one_pipeline():
            await version.bump_after_commit("mch_shared")
            await queue.enqueue_unless_marked_after_commit("step_due", "test:step_due:queued", 60_000)
            await queue.enqueue_after_commit("step_payout", f"po_{i}", job_id=f"step:po_{i}")

    await asyncio.gather(*(commit(i) for i in range(40)))

    assert len(sent) == 1, sent  # forty commits, one round trip
    assert sent[0].count("INCRBY") == 1 and sent[0].count("EVAL") == 41  # one bump, one wake, forty jobs
    assert int(await client.get("ledger:version:mch_shared")) == 1
    assert await client.zcard(default_queue_name) == 41
    assert await client.exists("test:step_due:queued")


async def test_a_write_committed_after_the_last_pipeline_left_is_sent_in_its_own(redis) -> None:
    """Nothing waits for company: one after the other, each commit's commands go at once,
    and each wake is asked again (the first may have started its job meanwhile)."""
    client, sent = redis
    for _ in range(2):
        async with queue.one_pipeline():
            await version.bump_after_commit("mch_alone")
            await queue.enqueue_unless_marked_after_commit("step_due", "test:step_due:queued", 60_000)

    assert [names.count("EVAL") for names in sent] == [1, 1]
    assert int(await client.get("ledger:version:mch_alone")) == 2


async def test_a_command_that_cannot_be_built_fails_its_own_write_only(redis) -> None:
    client, sent = redis

    def broken(pipe) -> None:
        raise ValueError("cannot be built")

    async def good() -> None:
        await queue.redis_after_commit(lambda pipe: pipe.incr("test:good"))

    async def bad() -> None:
        await queue.redis_after_commit(broken)

    results = await asyncio.gather(good(), bad(), good(), return_exceptions=True)

    assert results[0] is None and results[2] is None
    assert isinstance(results[1], ValueError)
    assert len(sent) == 1 and int(await client.get("test:good")) == 2
