"""The scenario engine: walks a payout through the steps of its scenario
(`seeds/scenarios.json`). The worker applies a step (and the ones due right after it)
in one locked transaction: a step due now among many payouts' in one (`due_claims`), a
step due later in its own job; the IPN service applies outcomes the rail reports;
admins approve and release. Every status change is decided by
`service.prepare_transition`; the worker's steps are decided first and written together
(`apply_due`), the others through `service.transition`, and every write of the payout
through `repository`; the transaction is the caller's (the step job's, the IPN
callback's, the admin action's).

A payout records where it is: `track` (the list of steps: "main", or "after_release"),
`step_index` (the next step) and `next_action_at` (when it is due). A step job names the
step it was enqueued for and does nothing unless the payout still waits for exactly that
step — so duplicate, late and concurrent jobs are harmless."""

from __future__ import annotations

import functools
import logging
from datetime import datetime, timedelta

import msgspec
from msgspec.structs import replace

from sandbox import db
from sandbox import enqueue as queue
from sandbox.clocks import store as clocks
from sandbox.core import clock
from sandbox.core.clock import now, scaled
from sandbox.core.errors import NotFound
from sandbox.events import outbox
from sandbox.ledger import service as ledger
from sandbox.ledger.service import Posting
from sandbox.payouts import many, repository, service, states
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
        return await apply_due([row]) == 1


class Stepped(msgspec.Struct):
    """A payout's steps, decided before anything is written: the row as they leave it,
    their status changes in order (each with its event and posting), and what follows
    once the transaction commits: the next step to schedule (track, index, when), the
    rail's callback to send for a step the rail reports."""

    row: PayoutRow
    changes: list[service.Change] = msgspec.field(default_factory=list)
    next: tuple[str, int, datetime | None] | None = None
    notification: rail.Notification | None = None
    applied: bool = True


async def apply_due(rows: list[PayoutRow]) -> int:
    """Apply the due steps of every payout (the rows locked by the caller's transaction,
    their merchants on a live clock): its step if due, then the steps after it that are
    due already instead of enqueueing a job for each, each still its own status change,
    posting and event. All are decided first (`plan_due`), then written together
    (`_write`): one statement for the rows and events, one for the postings, one commit
    and one after-commit Redis pipeline for the whole group. Returns how many payouts had
    a step applied."""
    at = now()
    group = [stepped for stepped in map(functools.partial(plan_due, at=at), rows) if stepped is not None]
    await _write(group, at)
    return sum(stepped.applied for stepped in group)


def plan_due(row: PayoutRow, at: datetime) -> Stepped | None:
    """The payout's steps due by `at` (at most MAX_STEPS_PER_JOB: the rest is scheduled
    like any later step), decided; None when its step is not due. Nothing can follow a
    terminal status: its due step is dropped (never retried)."""
    if row.status in states.TERMINAL:
        return Stepped(replace(row, next_action_at=None), applied=False)
    if row.next_action_at is None or row.next_action_at > at:
        return None
    stepped = Stepped(row)
    for _ in range(MAX_STEPS_PER_JOB):
        if not _decide_step(stepped, at, None):
            return stepped
    # The bound was reached: the rest is scheduled like any later step.
    stepped.next = (stepped.row.track, stepped.row.step_index, stepped.row.next_action_at)
    return stepped


def _decide_step(stepped: Stepped, at: datetime, reason: str | None) -> bool:
    """Decide the current step of `stepped.row` into `stepped` (nothing is written).
    Returns whether the step after it is due at `at` already, for a chain to decide next
    (a step the rail reports too: the chain sends its callback, instead of a job per
    payout that would only send it); else `stepped.next` is the step to schedule (None:
    nothing follows, or the rail reports it)."""
    row = stepped.row
    steps = steps_of(row.scenario, row.track)
    index = row.step_index
    stepped.next = None
    if index >= len(steps):
        stepped.row = replace(row, next_action_at=None)
        return False
    step = steps[index]
    if step.via == "ipn":
        # The rail reports this outcome itself; the IPN service applies it and moves on.
        stepped.notification = _notification(row, index, step)
        # If the callback is lost, the sweeper finds the step overdue and the rail sends again.
        stepped.row = replace(row, next_action_at=at + scaled(IPN_RESEND_S))
        return False
    next_at = due_at(steps, index + 1, at)
    submitted = row.psp_reference or (rail.new_psp_reference() if step.submit else None)
    row = replace(row, step_index=index + 1, psp_reference=submitted)
    if step.status == row.status:
        # A step that submits without a status change (e.g. the payout waits for the bank).
        stepped.row = replace(row, next_action_at=next_at, updated_at=at)
    else:
        row = replace(row, failure_code=step.failure_code or row.failure_code)
        change = service.prepare_transition(row, step.status, reason=reason or step.reason or step_reason(step),
                                            at=at, next_action_at=next_at)
        stepped.changes.append(change)
        stepped.row = change.after
    stepped.next = (row.track, index + 1, next_at)
    return next_at is not None and next_at <= at


def _notification(row: PayoutRow, index: int, step: Step) -> rail.Notification:
    """The rail's callback for step `index` (one the rail reports) of the payout's track:
    its id names the step, so a resend is a no-op."""
    assert row.psp_reference is not None  # scenarios.load: an ipn step follows the submitting one
    return rail.Notification(psp_reference=row.psp_reference, notification_id=f"{row.id}:{row.track}:{index}",
                             status=step.status, failure_code=step.failure_code)


async def _write(group: list[Stepped], at: datetime) -> None:
    """Write what was decided for the group (rows locked by the caller's transaction):
    the rows and every event in one statement, then each merchant's postings in one call
    (the transaction's last statement: the merchant's balance row stays locked only until
    the commit), then once the transaction commits, the wake-ups, the next steps and the
    rail's callbacks in its one Redis pipeline."""
    changes = [change for stepped in group for change in stepped.changes]
    await many.write_steps([stepped.row for stepped in group], [(c.after, c.event) for c in changes])
    postings: dict[str, list[Posting]] = {}
    for change in changes:
        if change.posting is not None:
            postings.setdefault(change.posting.merchant_id, []).append(change.posting)
    for merchant_id, posted in postings.items():
        await ledger.post_many(merchant_id, at, posted)
    if changes:
        await outbox.event_written()
    for stepped in group:
        if (notification := stepped.notification) is not None:
            await db.after_commit(functools.partial(
                queue.enqueue, rail.NOTIFY_JOB, notification.psp_reference, notification.notification_id,
                notification.status, notification.failure_code))
        if stepped.next is not None:
            track, index, next_at = stepped.next
            await schedule(stepped.row.id, track, index, next_at, scenario=stepped.row.scenario)


async def apply_due_step(row: PayoutRow, at: datetime) -> None:
    """Apply the step a manual clock's advance found due at `at` (the row is locked by
    the caller, and the task follows that clock): the step the worker would apply."""
    if row.status in states.TERMINAL:
        await _write([Stepped(replace(row, next_action_at=None), applied=False)], at)
    else:
        await apply_step(row, at)


async def apply_step(row: PayoutRow, at: datetime, reason: str | None = None) -> None:
    """Apply the payout's current step (the row is locked by the caller) and schedule
    the next one."""
    steps = steps_of(row.scenario, row.track)
    index = row.step_index
    if index < len(steps) and steps[index].via == "ipn" and clock.on_manual_clock() is not None:
        # On a manual clock no real time passes for a callback to arrive in: the advance
        # that reached this step applies the rail's outcome at its time, as the IPN
        # service would (so it is listed among the advance's transitions).
        await on_rail_notification(_notification(row, index, steps[index]))
        return
    stepped = Stepped(row)
    _decide_step(stepped, at, reason)
    await _write([stepped], at)


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
    elif failure_code is not None:  # a return's reason
        row = replace(row, failure_code=failure_code)
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
