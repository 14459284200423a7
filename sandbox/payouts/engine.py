"""The scenario engine: walks a payout through the steps of its scenario
(`seeds/scenarios.json`). The worker applies a step (and the ones due right after it)
in one locked transaction: a step due now among many payouts' in one (`due`), a step due
later in its own job; the IPN service applies outcomes the rail reports;
admins approve and release. Every status change goes through `service.transition`, and
every other write of the payout through `repository`; the transaction is the caller's
(the step job's, the IPN callback's, the admin action's).

A payout records where it is: `track` (the list of steps: "main", or "after_release"),
`step_index` (the next step) and `next_action_at` (when it is due). A step job names the
step it was enqueued for and does nothing unless the payout still waits for exactly that
step — so duplicate, late and concurrent jobs are harmless."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from msgspec.structs import replace

from sandbox import db
from sandbox import enqueue as queue
from sandbox.clocks import store as clocks
from sandbox.core import clock
from sandbox.core.clock import now, scaled
from sandbox.core.errors import NotFound
from sandbox.payouts import repository, service, states
from sandbox.payouts.errors import InvalidTransition
from sandbox.payouts.failures import RAIL_REJECTED
from sandbox.payouts.repository import PayoutRow
from sandbox.payouts.scenarios import Step
from sandbox.payouts.schedule import (
    STEP_JOB,
    due_at,
    rail_reported_steps,
    schedule,
    steps_of,
    wake_step_due_after_commit,
)
from sandbox.rail import client as rail

log = logging.getLogger("sandbox.payouts.engine")

# If an IPN-reported step's callback is lost, the rail sends it again after this long
# (simulated time: it scales; resends carry the same notification id, so they are no-ops).
IPN_RESEND_S = 10


# Steps one job may apply back to back when each next one is already due (at time scale 0
# a whole scenario). The bound keeps one job (and the row lock it holds) short.
MAX_STEPS_PER_JOB = 8


async def advance(payout_id: str, track: str, index: int) -> bool:
    """Apply step `index` of `track` if the payout still waits for it and it is due, then
    the steps after it that are due already (see `apply_due`), in one locked transaction.
    Returns whether a step was applied."""
    async with db.transaction():
        row = await service.get_row(payout_id, None, lock=True)
        if row.track != track or row.step_index != index or row.next_action_at is None:
            return False
        if await clocks.manual_clock(row.merchant) is not None:
            return False  # not due in real time: only an advance of its clock moves it
        return await apply_due(row)


async def apply_due(row: PayoutRow) -> bool:
    """Apply the payout's step (the row is locked by the caller's transaction, its
    merchant on a live clock) if it is due, then the steps after it that are due
    already, instead of enqueueing a job for each: each step still its own status
    change, posting and event, the chain one lock, one commit and one after-commit Redis
    pipeline. Returns whether a step was applied."""
    if await _dropped_if_terminal(row):
        return False
    at = now()
    if row.next_action_at is None or row.next_action_at > at:
        return False
    for _ in range(MAX_STEPS_PER_JOB):
        chained = await apply_step(row, at, chain=True)
        if chained is None:  # the next step was scheduled (or there is none)
            return True
        row, at = chained, now()
    # The bound was reached: the rest is scheduled like any later step.
    await schedule(row.id, row.track, row.step_index, row.next_action_at, scenario=row.scenario)
    return True


async def apply_due_step(row: PayoutRow, at: datetime) -> None:
    """Apply the step a manual clock's advance found due at `at` (the row is locked by
    the caller, and the task follows that clock): the step the worker would apply."""
    if not await _dropped_if_terminal(row):
        await apply_step(row, at)


async def _dropped_if_terminal(row: PayoutRow) -> bool:
    """Nothing can follow a terminal status: its due step is dropped (never retried)."""
    if row.status not in states.TERMINAL:
        return False
    await repository.save_progress(replace(row, next_action_at=None))
    return True


async def apply_step(row: PayoutRow, at: datetime, reason: str | None = None, *,
                     chain: bool = False) -> PayoutRow | None:
    """Apply the payout's current step (the row is locked by the caller). With `chain`,
    a next step that is due at once and applied by the worker itself is not enqueued:
    the updated row is returned for the caller to apply that step next, in the same
    transaction. Otherwise the next step is scheduled and None returned."""
    steps = steps_of(row.scenario, row.track)
    index = row.step_index
    if index >= len(steps):
        await repository.save_progress(replace(row, next_action_at=None))
        return None
    step = steps[index]
    if step.via == "ipn":
        # The rail reports this outcome itself; the IPN service applies it and moves on.
        assert row.psp_reference is not None  # scenarios.load: an ipn step follows the submitting one
        notification = rail.Notification(
            psp_reference=row.psp_reference,
            notification_id=f"{row.id}:{row.track}:{index}",
            status=step.status,
            failure_code=step.failure_code,
        )
        if clock.on_manual_clock() is not None:
            # On a manual clock no real time passes for a callback to arrive in: the
            # advance that reached this step applies the rail's outcome at its time, as
            # the IPN service would (so it is listed among the advance's transitions).
            await on_rail_notification(notification)
            return None
        await repository.save_progress(replace(row, next_action_at=at + scaled(IPN_RESEND_S)))
        # If the callback is lost, the sweeper finds the step overdue and the rail sends again.
        await db.after_commit(lambda: queue.enqueue(rail.NOTIFY_JOB, notification.psp_reference,
                                                    notification.notification_id, notification.status,
                                                    notification.failure_code))
        return None
    next_at = due_at(steps, index + 1, at)
    submitted = row.psp_reference or (rail.new_psp_reference() if step.submit else None)
    row = replace(row, step_index=index + 1, psp_reference=submitted)
    if step.status == row.status:
        # A step that submits without a status change (e.g. the payout waits for the bank).
        row = replace(row, next_action_at=next_at, updated_at=at)
        await repository.save_progress(row)
    else:
        row = replace(row, failure_code=step.failure_code or row.failure_code)
        row = await service.transition(row, step.status, reason=reason or step.reason or step_reason(step), at=at,
                                       next_action_at=next_at)
    if chain and next_at is not None and next_at <= at and steps[index + 1].via != "ipn":
        return row
    await schedule(row.id, row.track, index + 1, next_at, scenario=row.scenario)
    return None


def step_reason(step: Step) -> str | None:
    if step.failure_code:
        return step.failure_code
    if step.submit:
        return "submitted to the rail"
    return None


async def on_rail_outcome(psp_reference: str, status: str, failure_code: str | None) -> PayoutRow:
    """Apply an outcome the rail reported (through the IPN service), in the caller's
    transaction. If the payout was waiting for exactly this outcome as its next step, the
    scenario moves on past it; any other outcome (e.g. simulated) stops the script."""
    row = await repository.get_by_psp_reference(psp_reference, lock=True)
    if row is None:
        raise NotFound(f"No payout with psp_reference {psp_reference}")
    await clocks.follow(row.merchant)
    at = now()
    steps = steps_of(row.scenario, row.track)
    index = row.step_index
    next_at = None
    if index < len(steps) and steps[index].via == "ipn" and steps[index].status == status:
        index += 1
        next_at = due_at(steps, index, at)
    if status == states.FAILED:
        row = replace(row, failure_code=failure_code or RAIL_REJECTED)
    updated = await service.transition(replace(row, step_index=index), status, reason=f"rail: {status}", at=at,
                                       next_action_at=next_at)
    await schedule(row.id, row.track, index, next_at, scenario=row.scenario)
    return updated


async def on_rail_notification(notification: rail.Notification) -> PayoutRow | None:
    """Apply a rail callback once (in the caller's transaction): None when its
    `notification_id` was applied before (a resend)."""
    fresh = await db.fetchval(
        "INSERT INTO ipn_notification (id, psp_reference, status, received_at) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (id) DO NOTHING RETURNING id",
        notification.notification_id, notification.psp_reference, notification.status, now(),
    )
    if fresh is None:
        return None
    return await on_rail_outcome(notification.psp_reference, notification.status, notification.failure_code)


async def start_track(row: PayoutRow, to_status: str, track: str, *, allowed_from: frozenset[str],
                      reason: str | None, apply_first_step: bool = False) -> PayoutRow:
    """Move the payout (locked by the caller, with any column the caller changes already
    replaced) to `to_status` at the start of `track`: approve, release, reinitiate. With
    `apply_first_step`, the track's first step is applied at once."""
    if row.status not in allowed_from:
        raise InvalidTransition(row.status, to_status)
    at = now()
    next_at = at if apply_first_step else due_at(steps_of(row.scenario, track), 0, at)
    row = replace(row, track=track, step_index=0)
    if to_status != row.status:
        row = await service.transition(row, to_status, reason=reason, at=at, next_action_at=next_at,
                                       allowed_from=allowed_from)
    else:
        row = replace(row, next_action_at=next_at, updated_at=at)
        await repository.save_progress(row)
    if apply_first_step:
        await apply_step(row, at, reason=reason)
        return await service.get_row(row.id, None)
    await schedule(row.id, track, 0, next_at, scenario=row.scenario)
    return row


async def sweep(overdue: timedelta = timedelta(seconds=10), limit: int = 2000) -> int:
    """After a lost Redis job or wake-up, or a killed worker, nothing stays stranded:
    wake `step_due` (it claims every step that is due, however late), and re-enqueue the
    job of every step the rail reports that is overdue by more than `overdue` (its
    callback is sent again). Duplicates are harmless (see module doc)."""
    await wake_step_due_after_commit()  # outside a transaction: sent at once
    due = await repository.overdue(now() - overdue, limit, rail_reported_steps())
    for payout_id, track, index in due:
        await queue.enqueue(STEP_JOB, payout_id, track, index)
    if due:
        log.info("sweeper re-enqueued %d overdue payout steps", len(due))
    return len(due)
