"""Where a payout is in its scenario and when its next step is due; enqueueing that step
for the worker once the transaction that decided it has committed.

A step due already (every step at time scale 0) costs no arq job of its own: the
transaction wakes the worker's `step_due` job instead (`due_claims.advance_due` claims due
payouts from PostgreSQL, many per transaction). A Redis marker says "a step_due run is
woken and has not started"; a committer that finds it set wakes nothing, because that run
starts later and sees what it committed; the run clears the marker when it starts, before
it claims anything. The wake is a message on `STEP_DUE_CHANNEL` (one per Redis database):
each worker that hears it runs the job at once in its own process, with no arq job
queued, claimed and finished (14 Redis commands and a sixth of the worker's CPU for a
payout settled alone, docs/benchmark.md); where no worker hears it (none listening yet),
the job is queued as before, for the first worker that polls. A lost marker, message or
job costs at most a sweep interval. Steps due later, and steps the rail reports (`via:
ipn`, sent and resent by their own job), keep one deferred job per payout; a step the
rail reports that is due as soon as the step before it is sent by whatever applied that
one (`planner.due`), no job of its own.

`now()` is the time the planner is told: the clock's time, the scale of its delays,
and whether it is a manual clock."""

from __future__ import annotations

from datetime import datetime
from functools import cache

from sandbox import enqueue as queue
from sandbox import redis_client
from sandbox.core import clock
from sandbox.events import wakeups
from sandbox.payouts.lifecycle import planner
from sandbox.payouts.lifecycle.planner import steps_of
from sandbox.payouts.model import scenarios
from sandbox.payouts.model.rows import PayoutRow
from sandbox.payouts.model.scenarios import MAIN  # noqa: F401  # callers say schedule.MAIN

STEP_JOB = "step_payout"
# Several payouts' same step, due at the same time, in one job.
STEPS_JOB = "step_payouts"
# Every payout whose step is due, many per transaction (see the module doc).
STEP_DUE_JOB = "step_due"
STEP_DUE_MARKER = wakeups.STEP_DUE_MARKER  # a commit that wakes `step_due` wakes no relay job (see there)
STEP_DUE_MARKER_TTL_MS = 2000


def now() -> planner.Now:
    """The time a plan is made at: the merchant's manual clock's, when this task follows one."""
    return planner.Now(clock.now(), clock.scale_now(), manual=clock.on_manual_clock() is not None)


def reported_by_rail(row: PayoutRow, track: str, index: int) -> bool:
    steps = steps_of(row, track)
    return index < len(steps) and steps[index].via == "ipn"


@cache
def rail_reported_steps() -> list[str]:
    """`scenario:track:index` of every step of a built-in scenario the rail reports:
    `step_due` leaves them to their own jobs (once sent, such a step stays due until the
    callback arrives). A merchant's own scenario lists its own in the payout's `script`."""
    return [f"{s.name}:{step}" for s in scenarios.table().scenarios for step in scenarios.rail_reported(s)]


async def schedule(row: PayoutRow, track: str, index: int, at: datetime | None) -> None:
    """Have the worker apply step `index` of `track` of the payout `row` once the current
    transaction commits: a step due now wakes `step_due`, any other is its own job, due
    at `at`. On a manual clock nothing is enqueued: the step waits for an advance of
    that clock."""
    if at is None or clock.on_manual_clock() is not None:
        return
    if at <= clock.now() and not reported_by_rail(row, track, index):
        await wake_step_due_after_commit()
        return
    await queue.enqueue_after_commit(STEP_JOB, row.id, track, index, job_id=f"step:{row.id}:{track}:{index}", due=at)


async def wake_step_due_after_commit() -> None:
    await queue.enqueue_unless_marked_after_commit(STEP_DUE_JOB, STEP_DUE_MARKER, STEP_DUE_MARKER_TTL_MS,
                                                   channel=queue.step_due_channel)


async def step_due_started() -> None:
    await redis_client.get().delete(STEP_DUE_MARKER)


async def schedule_group(payout_ids: list[str], track: str, index: int, at: datetime | None) -> None:
    """Enqueue one job for the same step of several payouts, due at the same time, once
    the current transaction commits (the worker applies each as `STEP_JOB` would: one job
    instead of one each)."""
    if at is None or not payout_ids:
        return
    await queue.enqueue_after_commit(STEPS_JOB, payout_ids, track, index,
                                     job_id=f"steps:{payout_ids[0]}:{len(payout_ids)}:{track}:{index}", due=at)
