"""A payout posted while the worker is idle moves at once: the commit that makes its step due
wakes the worker, which does not wait for its next poll of the queue (at time scale 0 that
poll was half the wait for a test's webhook: docs/benchmark.md), and runs the `step_due`
job itself, with no arq job queued for it."""

from __future__ import annotations

import asyncio

from sandbox import redis_client
from sandbox.enqueue import WAKE_CHANNEL
from sandbox.payouts.lifecycle.schedule import STEP_DUE_JOB
from tests.helpers import wait_for

POLL_S = 60.0  # the worker's next poll, long after the deadline below


async def test_a_payout_posted_to_an_idle_worker_is_settled_before_its_next_poll(stack, merchant):
    from worker.main import build_worker

    redis = redis_client.get()
    listening = await _listeners(redis)
    worker = build_worker(shared_connections=True)
    worker.poll_delay_s = POLL_S
    woken: list[float | None] = []
    run_step_due = worker.run_step_due
    assert run_step_due is not None

    async def counted(sent_ms: float | None) -> None:
        woken.append(sent_ms)
        await run_step_due(sent_ms)

    worker.run_step_due = counted
    task = asyncio.create_task(worker.async_run())
    try:
        # Its first poll (at its start) is behind it, and it listens for wake-ups: from here
        # on, only a wake-up moves a payout before POLL_S has passed.
        async def ready() -> bool:
            return bool(worker._last_health_check) and await _listeners(redis) > listening

        await wait_for(ready, timeout=30, what="the worker's first poll, and it listening for wake-ups")
        runs_before = len(woken)
        r = await merchant.post("/payouts", {"amount": "1.00", "destination": {
            "type": "bank", "bank_code": "HBL", "account_number": "12345678900001"}})
        assert r.status_code == 201, r.text
        payout_id = r.json()["id"]

        async def settled():
            return (await merchant.get(f"/payouts/{payout_id}")).json()["status"] == "success"

        await wait_for(settled, timeout=15, what="the payout to succeed before the worker's next poll")
        # The worker heard the commit's message and ran the job: none was queued (the queue
        # is read only at polls, none of which came).
        assert [sent for sent in woken[runs_before:] if sent is not None], woken
        assert not [job for job in await redis.queued_jobs() if job.function == STEP_DUE_JOB]
    finally:
        stopping = asyncio.create_task(worker.stop_beside(task))
        await asyncio.sleep(0)  # it has stopped picking: the poll a wake brings ends its loop now, not in POLL_S
        await redis.publish(WAKE_CHANNEL, "")
        await stopping


async def _listeners(redis) -> int:
    return dict(await redis.pubsub_numsub(WAKE_CHANNEL)).get(WAKE_CHANNEL.encode(), 0)
