"""A worker that stops hands back the jobs it had taken: they run again at once on the
next worker, not after arq's in-progress expiry (the longest job timeout, an hour)."""

from __future__ import annotations

import asyncio

import asyncpg
from arq.constants import default_queue_name
from arq.constants import in_progress_key_prefix as IN_PROGRESS
from arq.jobs import Job

from sandbox import redis_client
from sandbox.batches.service import PROCESS_JOB
from tests.batches.helpers import HEADER, upload_csv, wait_completed
from tests.helpers import wait_for

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
