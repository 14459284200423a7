"""Waking the worker: the relay after events commit, and each delivery's next attempt.

Many transactions commit events; one queued relay job serves them all. A Redis marker
says "a relay job is queued and has not started yet": an emitter that finds it set
enqueues nothing, because that job will start later and see the emitter's committed
events. The job clears the marker when it starts, before it claims anything. A lost
marker or job costs at most a sweep interval."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from datetime import datetime, timedelta

from sandbox import db, redis_client
from sandbox import enqueue as queue
from sandbox.core.clock import now

RELAY_JOB = "webhook_relay"
DELIVER_JOB = "webhook_deliver"
MARKER = "webhooks:relay:queued"
MARKER_TTL_MS = 2000
# The payouts' `step_due` job's marker (sandbox/payouts/lifecycle/schedule.py): a commit that
# wakes that job wakes no relay job too, as the worker that runs it relays what it finds
# (worker/jobs.py): a POST at time scale 0 woke two jobs, and each job costs the worker an
# arq claim, run and finish (docs/benchmark.md, "Where a payout's worker instructions and
# WAL go").
STEP_DUE_MARKER = "payouts:step_due:queued"


# Inside a worker's jobs: that worker's own relay, started in the process once the
# transaction commits (`relay_here`), instead of a relay job through Redis.
_here: ContextVar[Callable[[], Awaitable[None]] | None] = ContextVar("sandbox_relay_here", default=None)


def relay_here(start: Callable[[], Awaitable[None]]) -> None:
    """Set by a worker as it starts, in the context its jobs inherit (and only theirs: an
    API served in the same process still wakes through Redis). A step's events were
    relayed by a job of their own: its arq claim, run and finish (18 Redis commands), for
    work the worker that wrote them can start itself (docs/benchmark.md, "Where a payout's
    worker instructions and WAL go"). A worker that dies before its relay commits leaves
    the events in the outbox for the sweeper, as a lost wake-up does."""
    _here.set(start)


async def wake_relay_after_commit() -> None:
    """Marker check, marker and enqueue in one script, sent with the transaction's other
    after-commit Redis commands (a process without Redis sends nothing; the sweeper relays);
    in a worker's job, its own relay once the transaction commits (`relay_here`)."""
    here = _here.get()
    if here is not None:
        await db.after_commit(here)
        return
    await queue.enqueue_unless_marked_after_commit(RELAY_JOB, MARKER, MARKER_TTL_MS, unless_waking=STEP_DUE_MARKER)


async def relay_now() -> None:
    """Relay what the outbox holds: this worker's own relay (`relay_here`), else a relay job."""
    here = _here.get()
    if here is not None:
        await here()
    else:
        await enqueue_relay()


async def relay_started() -> None:
    await redis_client.get().delete(MARKER)


async def enqueue_relay() -> None:
    """Unconditionally (the sweeper's way: something was left behind)."""
    await redis_client.get().enqueue_job(RELAY_JOB)


async def schedule_attempt(delivery_id: str, attempt: int, due: datetime | None, *,
                           postponed: bool = False) -> None:
    """Enqueue attempt `attempt` of a delivery for `due` (at once when None or past). The
    job id makes a second enqueue of the same attempt a no-op while the first is queued;
    a postponed attempt's id differs (the job that postponed it may still be running
    under the plain id). A lost job costs nothing: the pools take due deliveries from
    the database on every sweep."""
    delay = max(due - now(), timedelta(0)) if due is not None else None
    job_id = f"{DELIVER_JOB}:{delivery_id}:{attempt}"
    if postponed:
        job_id += f":later:{int(now().timestamp() * 1000)}"
    await queue.enqueue(DELIVER_JOB, delivery_id, job_id=job_id, delay=delay)
