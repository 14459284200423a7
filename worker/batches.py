"""Payout batch jobs: create a batch's payouts, re-initiate its failed items, and a
sweeper that enqueues both again when a job was lost (a dead worker, a lost Redis)."""

from __future__ import annotations

from arq import cron, func

from sandbox import enqueue as queue
from sandbox.batches import processing
from sandbox.batches.service import PROCESS_JOB, RETRY_JOB
from sandbox.settings import Settings

STALL_S = 30.0  # real seconds without progress before the sweeper enqueues a batch again


async def process_payout_batch(ctx: dict, batch_id: str) -> int:
    return await processing.process(batch_id)


async def retry_payout_batch(ctx: dict, batch_id: str) -> int:
    return await processing.retry(batch_id)


async def sweep_batches(ctx: dict) -> int:
    stuck, retrying = await processing.stalled(STALL_S)
    for batch_id in stuck:
        await queue.enqueue(PROCESS_JOB, batch_id)
    for batch_id in retrying:
        await queue.enqueue(RETRY_JOB, batch_id)
    return len(stuck) + len(retrying)


FUNCTIONS = [
    # One job works a whole batch, chunk after chunk (100,000 items take minutes, not hours).
    func(process_payout_batch, name=PROCESS_JOB, keep_result=0, max_tries=3, timeout=3600),
    func(retry_payout_batch, name=RETRY_JOB, keep_result=0, max_tries=3, timeout=3600),
]


def cron_jobs(settings: Settings) -> list:
    return [cron(sweep_batches, name="sweep_batches", second={0, 15, 30, 45}, keep_result=0, timeout=60)]
