"""The worker's, the rail's and the clock's side of a payout's scenario: each path here
loads and locks what it moves, asks the planner (`planner`: what happens next) and hands
the answer to the writer (`writer.write`), in the caller's transaction.

- `advance`: a step job (one payout, the step it was enqueued for);
- `apply_due`: the due steps of a claimed group of payouts (`due_claims`), decided
  first and written together;
- `apply_clock_step`: the step a manual clock's advance found due;
- `on_rail_notification`: the rail's callback, applied once;
- `sweep`: nothing stays stranded after a lost job or a killed worker.

A step job does nothing unless the payout still waits for exactly its step
(`planner.job`), so duplicate, late and concurrent jobs are harmless."""

from __future__ import annotations

import logging
from datetime import timedelta

from sandbox import db
from sandbox import enqueue as queue
from sandbox.clocks import store as clocks
from sandbox.core.clock import now
from sandbox.core.errors import NotFound
from sandbox.payouts.lifecycle import planner, schedule, writer
from sandbox.payouts.lifecycle.schedule import STEP_JOB, rail_reported_steps, wake_step_due_after_commit
from sandbox.payouts.model.rows import PayoutRow
from sandbox.payouts.store import repository
from sandbox.rail import client as rail

log = logging.getLogger("sandbox.payouts.engine")


async def advance(payout_id: str, track: str, index: int) -> bool:
    """A step job: apply step `index` of `track` if the payout still waits for it and it
    is due, with the steps after it that are due already, in one locked transaction.
    Returns whether a step was applied."""
    async with db.transaction():
        row = await repository.get(payout_id, None, lock=True)
        if row is None or await clocks.manual_clock(row.merchant) is not None:
            return False  # gone, or not due in real time: only an advance of its clock moves it
        at = schedule.now()
        plan = planner.job(row, track, index, at)
        if plan is None:
            return False
        await writer.write([plan], at.at)
        return plan.applied


async def apply_due(rows: list[PayoutRow]) -> int:
    """Apply the due steps of every payout (the rows locked by the caller's transaction,
    their merchants on a live clock), all planned first and written together. Returns how
    many payouts had a step applied."""
    at = schedule.now()
    plans = [plan for row in rows if (plan := planner.due(row, at)) is not None]
    await writer.write(plans, at.at)
    return sum(plan.applied for plan in plans)


async def apply_clock_step(row: PayoutRow) -> None:
    """Apply the step a manual clock's advance found due (the row is locked by the caller,
    and the task follows that clock). A step the rail reports is answered at once, and
    its callback recorded as received, as the IPN service records one."""
    at = schedule.now()
    plan = planner.step(row, at)
    if plan.answered is not None:
        await _received(plan.answered)
    await writer.write([plan], at.at)


async def on_rail_notification(notification: rail.Notification) -> PayoutRow | None:
    """Apply a rail callback once (in the caller's transaction): None when its
    `notification_id` was applied before (a resend). Raises NotFound for an unknown
    psp_reference, InvalidTransition when the payout's status does not allow it."""
    if not await _received(notification):
        return None
    row = await repository.get_by_psp_reference(notification.psp_reference, lock=True)
    if row is None:
        raise NotFound(f"No payout with psp_reference {notification.psp_reference}")
    await clocks.follow(row.merchant)
    at = schedule.now()
    plan = planner.rail_outcome(row, notification.status, notification.failure_code, at)
    await writer.write([plan], at.at)
    return plan.row


async def _received(notification: rail.Notification) -> bool:
    """Record a rail callback as received; False when it was received before."""
    fresh = await db.fetchval(
        "INSERT INTO ipn_notification (id, psp_reference, status, received_at) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (id) DO NOTHING RETURNING id",
        notification.notification_id, notification.psp_reference, notification.status, now(),
    )
    return fresh is not None


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
