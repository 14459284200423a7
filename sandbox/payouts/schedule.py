"""Where a payout is in its scenario and when its next step is due; enqueueing that step
for the worker once the transaction that decided it has committed."""

from __future__ import annotations

from datetime import datetime

from sandbox.core import clock, queue
from sandbox.core.clock import scaled
from sandbox.payouts import scenarios
from sandbox.payouts.scenarios import Step

STEP_JOB = "step_payout"
# Several payouts' same step, due at the same time, in one job.
STEPS_JOB = "step_payouts"
MAIN, AFTER_RELEASE = "main", "after_release"


def steps_of(scenario_name: str, track: str) -> list[Step]:
    scenario = scenarios.table().by_name(scenario_name)
    return scenario.after_release if track == AFTER_RELEASE else scenario.steps


def due_at(steps: list[Step], index: int, base: datetime) -> datetime | None:
    """When step `index` is due, or None when the track is finished."""
    if index >= len(steps):
        return None
    return base + scaled(steps[index].after_s)


async def schedule(payout_id: str, track: str, index: int, at: datetime | None) -> None:
    """Enqueue the job for a step once the current transaction commits. On a manual
    clock nothing is enqueued: the step waits for an advance of that clock."""
    if at is None or clock.on_manual_clock() is not None:
        return
    await queue.enqueue_after_commit(STEP_JOB, payout_id, track, index, job_id=f"step:{payout_id}:{track}:{index}",
                                     due=at)




async def schedule_group(payout_ids: list[str], track: str, index: int, at: datetime | None) -> None:
    """Enqueue one job for the same step of several payouts, due at the same time, once
    the current transaction commits (the worker applies each as `STEP_JOB` would: one job
    instead of one each)."""
    if at is None or not payout_ids:
        return
    await queue.enqueue_after_commit(STEPS_JOB, payout_ids, track, index,
                                     job_id=f"steps:{payout_ids[0]}:{len(payout_ids)}:{track}:{index}", due=at)
