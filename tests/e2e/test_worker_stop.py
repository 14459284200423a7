"""A worker that stops hands back the jobs it had taken: they run again at once on the
next worker, not after arq's in-progress expiry (the longest job timeout, an hour)."""

from __future__ import annotations

import asyncio
import time

import asyncpg
from arq.constants import default_queue_name
from arq.constants import in_progress_key_prefix as IN_PROGRESS
from arq.jobs import Job

from sandbox import redis_client
from sandbox.batches.service import PROCESS_JOB
from sandbox.enqueue import WAKE_CHANNEL, step_due_channel
from tests.batches.helpers import HEADER, upload_csv, wait_completed
from tests.helpers import payout_body, wait_for

ROWS = "".join(f"r{i},10.00,bank,HBL,,,12345678900001,,x\n" for i in range(20))


async def test_a_stopped_worker_hands_its_jobs_back(stack, merchant):
    from worker.main import build_worker

    redis = redis_client.get()
    # The batch job waits on the merchant's balance row, held here: it is surely running
    # when its worker stops.
    holder = await asyncpg.connect(stack.database_url)
    try:
        tx = holder.transaction()
        await tx.start()
        await holder.execute("SELECT 1 FROM balance WHERE merchant = $1 FOR UPDATE", merchant.merchant_id)
        batch = (await upload_csv(merchant, HEADER + ROWS)).json()
        first = build_worker(shared_connections=True)
        task = asyncio.create_task(first.async_run())

        async def batch_job_running():
            for job_id, t in list(first.tasks.items()):
                info = await Job(job_id, redis).info()
                # This batch's job: the queue may hold other tests' batches, which no lock holds.
                if not t.done() and info and info.function == PROCESS_JOB and batch["id"] in info.args \
                        and await redis.exists(IN_PROGRESS + job_id):
                    return job_id
            return None

        job_id = await wait_for(batch_job_running, timeout=20, what="the worker to take the batch job")
        await first.stop_beside(task)
        assert not await redis.exists(IN_PROGRESS + job_id), "the stopped worker left the job marked in progress"
        assert await redis.zscore(default_queue_name, job_id) is not None, "the job left the queue"
        await tx.rollback()
    finally:
        await holder.close()

    second = build_worker(shared_connections=True)
    task = asyncio.create_task(second.async_run())
    try:
        # Well inside the batch sweeper's stall time (30 s): the job itself ran again.
        done = await wait_completed(merchant, batch["id"], timeout=20)
    finally:
        await second.stop_beside(task)
    assert done["counts"]["queued"] == 0 and done["status"] == "completed"


async def test_a_woken_step_due_run_cut_short_by_a_stop_wakes_another_worker(stack, merchant, monkeypatch):
    """A `step_due` run woken by a message (no arq job) that a stop cancels leaves its
    payouts due, with no queued job to run again: the stopping worker wakes `step_due`
    again, and a worker that listens steps them at once, not at its next sweep."""
    from sandbox.payouts.lifecycle import due_claims
    from worker.main import build_worker

    real_apply_due = due_claims.engine.apply_due
    held = asyncio.Event()

    async def held_once(rows):
        if not held.is_set():
            held.set()
            await asyncio.Event().wait()  # until the stop cancels the run
        return await real_apply_due(rows)

    monkeypatch.setattr(due_claims.engine, "apply_due", held_once)
    first = build_worker(shared_connections=True)
    first_task = asyncio.create_task(first.async_run())
    second = build_worker(shared_connections=True)
    second.poll_delay_s = 60.0  # it moves on a wake alone
    heard: list[float] = []
    run_step_due = second.run_step_due
    assert run_step_due is not None

    async def counted(sent_ms: float | None) -> None:
        if sent_ms is not None:
            heard.append(sent_ms)
        await run_step_due(sent_ms)

    second.run_step_due = counted
    second_task: asyncio.Task | None = None
    try:
        redis = redis_client.get()
        channel = step_due_channel(redis)

        async def first_listens():
            return dict(await redis.pubsub_numsub(channel)).get(channel.encode(), 0) >= 1

        await wait_for(first_listens, timeout=30, what="the first worker to listen for step_due wakes")
        r = await merchant.post("/payouts", payout_body(account="12345678900001"))
        assert r.status_code == 201, r.text
        payout_id = r.json()["id"]
        await asyncio.wait_for(held.wait(), 30)  # its woken run holds the claimed payout

        second_task = asyncio.create_task(second.async_run())

        async def both_listen():
            return dict(await redis.pubsub_numsub(channel)).get(channel.encode(), 0) >= 2

        await wait_for(both_listen, timeout=30, what="the second worker to listen too")
        heard.clear()
        stopped_at_ms = time.time() * 1000
        await first.stop_beside(first_task)

        async def settled():
            return (await merchant.get(f"/payouts/{payout_id}")).json()["status"] == "success"

        await wait_for(settled, timeout=20, what="the second worker to step the payout")
        assert [sent for sent in heard if sent >= stopped_at_ms - 1000], "no wake reached the second worker"
    finally:
        if not first_task.done():
            await first.stop_beside(first_task)
        if second_task is not None:
            stopping = asyncio.create_task(second.stop_beside(second_task))
            await asyncio.sleep(0)  # it has stopped picking: the poll a wake brings ends its loop now
            await redis_client.get().publish(WAKE_CHANNEL, "")
            await stopping
