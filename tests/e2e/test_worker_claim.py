"""The worker claims the jobs a poll can start in one pipeline (worker/resilient.py),
by arq's rule: a due job that is queued and not in progress is claimed (its in-progress
key set); one running elsewhere, not due yet, or no longer queued is skipped."""

import secrets
from datetime import timedelta

from arq.constants import default_queue_name, in_progress_key_prefix, job_key_prefix

from sandbox.core import queue
from sandbox.core import redis as redis_client


async def test_claim_follows_arqs_rule(stack):
    from worker.main import build_worker

    worker = build_worker(shared_connections=True)
    worker._pool = redis = redis_client.get()
    tag = secrets.token_hex(6)
    due, later, running, gone = (f"claim-test:{name}:{tag}" for name in ("due", "later", "running", "gone"))
    try:
        await queue.enqueue("claim_test_noop", job_id=due)
        await queue.enqueue("claim_test_noop", job_id=later, delay=timedelta(hours=1))
        await queue.enqueue("claim_test_noop", job_id=running)
        await redis.set(in_progress_key_prefix + running, b"1", px=60_000)

        scores = await worker._claim([due, later, running, gone])

        assert scores[0] is not None and scores[1:] == [None, None, None]
        assert int(float(scores[0])) == int(await redis.zscore(default_queue_name, due))
        assert await redis.exists(in_progress_key_prefix + due) == 1
        assert await redis.exists(in_progress_key_prefix + later, in_progress_key_prefix + gone) == 0
        # Claimed once: a second claim (another worker, the same poll twice) gets nothing.
        assert await worker._claim([due]) == [None]
    finally:
        ids = (due, later, running, gone)
        await redis.zrem(default_queue_name, *ids)
        await redis.delete(*(prefix + i for i in ids for prefix in (job_key_prefix, in_progress_key_prefix)))
