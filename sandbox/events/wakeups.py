"""Waking the worker: the relay after events commit, and each delivery's next attempt.

Many transactions commit events; one queued relay job serves them all. A Redis marker
says "a relay job is queued and has not started yet": an emitter that finds it set
enqueues nothing, because that job will start later and see the emitter's committed
events. The job clears the marker when it starts, before it claims anything. A lost
marker or job costs at most a sweep interval."""

from __future__ import annotations

from datetime import datetime, timedelta

from sandbox import enqueue as queue
from sandbox import redis_client
from sandbox.core.clock import now

RELAY_JOB = "webhook_relay"
DELIVER_JOB = "webhook_deliver"
MARKER = "webhooks:relay:queued"
MARKER_TTL_MS = 2000


async def wake_relay_after_commit() -> None:
    """Marker check, marker and enqueue in one script, sent with the transaction's other
    after-commit Redis commands (a process without Redis sends nothing; the sweeper relays)."""
    await queue.enqueue_unless_marked_after_commit(RELAY_JOB, MARKER, MARKER_TTL_MS)


async def relay_started() -> None:
    await redis_client.get().delete(MARKER)


async def enqueue_relay() -> None:
    """Unconditionally (the sweeper's way: something was left behind)."""
    await redis_client.get().enqueue_job(RELAY_JOB)


async def schedule_attempt(delivery_id: str, attempt: int, due: datetime | None, *, swept: bool = False,
                           postponed: bool = False) -> None:
    """Enqueue attempt `attempt` of a delivery for `due` (at once when None or past). The
    job id makes a second enqueue of the same attempt a no-op while the first is queued;
    the sweeper's ids differ, so a job queued for later cannot hide an overdue delivery
    from it (the lease keeps the two from both sending), and so do a postponed attempt's
    (the job that postponed it may still be running under the plain id)."""
    delay = max(due - now(), timedelta(0)) if due is not None else None
    job_id = f"{DELIVER_JOB}:{delivery_id}:{attempt}" + (":swept" if swept else "")
    if postponed:
        job_id += f":later:{int(now().timestamp() * 1000)}"
    await queue.enqueue(DELIVER_JOB, delivery_id, job_id=job_id, delay=delay)
