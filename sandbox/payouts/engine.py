"""The scenario engine: walks a payout through the steps of its scenario
(`seeds/scenarios.json`). The worker applies a step (and the ones due right after it)
per job, in one locked transaction; the IPN service applies outcomes the rail reports;
admins approve and release. Every status change goes through `service.transition`.

A payout records where it is: `track` (the list of steps: "main", or "after_release"),
`step_index` (the next step) and `next_action_at` (when it is due). A step job names the
step it was enqueued for and does nothing unless the payout still waits for exactly that
step — so duplicate, late and concurrent jobs are harmless."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sandbox import db
from sandbox.core import queue
from sandbox.core.clock import now, scaled
from sandbox.core.errors import Conflict, NotFound
from sandbox.payouts import service, states
from sandbox.payouts.scenarios import Step
from sandbox.payouts.schedule import AFTER_RELEASE, MAIN, STEP_JOB, due_at, schedule, start_sets, steps_of
from sandbox.rail import client as rail

__all__ = ["AFTER_RELEASE", "MAIN", "STEP_JOB", "advance", "on_rail_outcome", "start_track", "sweep"]

log = logging.getLogger("sandbox.engine")

# If an IPN-reported step's callback is lost, the rail sends it again after this long
# (simulated time: it scales; resends carry the same notification id, so they are no-ops).
IPN_RESEND_S = 10


# Steps one job may apply back to back when each next one is already due (at time scale 0
# a whole scenario). The bound keeps one job (and the row lock it holds) short.
MAX_STEPS_PER_JOB = 8


async def advance(payout_id: str, track: str, index: int) -> bool:
    """Apply step `index` of `track` if the payout still waits for it and it is due, then
    the steps after it that are due already, instead of enqueueing a job for each: all in
    one locked transaction (each step still its own status change, posting and event), so
    the chain costs one lock, one commit and one after-commit Redis pipeline. Returns
    whether a step was applied."""
    async with db.transaction():
        row = await service.get_row(payout_id, None, lock=True)
        if row["track"] != track or row["step_index"] != index or row["next_action_at"] is None:
            return False
        if not states.NEXT[row["status"]]:  # final: nothing left to do (and never to be retried)
            await db.execute("UPDATE payout SET next_action_at = NULL WHERE id = $1", payout_id)
            return False
        at = now()
        if row["next_action_at"] > at:
            return False
        for _ in range(MAX_STEPS_PER_JOB):
            row = await apply_step(row, at, chain=True)
            if row is None:  # the next step was scheduled as a job (or there is none)
                return True
            at = now()
        # The bound was reached: the rest goes through the queue like any later step.
        await schedule(payout_id, track, row["step_index"], row["next_action_at"])
        return True


async def apply_step(row, at: datetime, reason: str | None = None, *, chain: bool = False):
    """Apply the payout's current step (the row is locked by the caller). With `chain`,
    a next step that is due at once and applied by the worker itself is not enqueued:
    the updated row is returned for the caller to apply that step next, in the same
    transaction. Otherwise the next step is scheduled and None returned."""
    steps = steps_of(row["scenario"], row["track"])
    index = row["step_index"]
    if index >= len(steps):
        await db.execute("UPDATE payout SET next_action_at = NULL WHERE id = $1", row["id"])
        return None
    step = steps[index]
    if step.via == "ipn":
        # The rail reports this outcome itself; the IPN service applies it and moves on.
        notification = rail.Notification(
            psp_reference=row["psp_reference"],
            notification_id=f"{row['id']}:{row['track']}:{index}",
            status=step.status,
            failure_code=step.failure_code,
        )
        await db.execute("UPDATE payout SET next_action_at = $2 WHERE id = $1", row["id"], at + scaled(IPN_RESEND_S))
        # If the callback is lost, the sweeper finds the step overdue and the rail sends again.
        await db.after_commit(lambda: queue.enqueue(rail.NOTIFY_JOB, notification.psp_reference,
                                                    notification.notification_id, notification.status,
                                                    notification.failure_code))
        return None
    next_at = due_at(steps, index + 1, at)
    sets: dict = {"step_index": index + 1, "next_action_at": next_at}
    if step.submit and row["psp_reference"] is None:
        sets["psp_reference"] = rail.new_psp_reference()
    if step.status == row["status"]:
        # A step that submits without a status change (e.g. the payout waits for the bank).
        row = await db.fetchrow(
            "UPDATE payout SET step_index = $2, next_action_at = $3, psp_reference = COALESCE($4, psp_reference),"
            f" updated_at = $5 WHERE id = $1 RETURNING {service.COLUMNS}",
            row["id"], index + 1, next_at, sets.get("psp_reference"), at,
        )
    else:
        if step.failure_code:
            sets["failure_code"] = step.failure_code
        row = await service.transition(row["id"], step.status, reason=reason or step.reason or step_reason(step),
                                       sets=sets, at=at, row=row)
    if chain and next_at is not None and next_at <= at and steps[index + 1].via != "ipn":
        return row
    await schedule(row["id"], row["track"], index + 1, next_at)
    return None


def step_reason(step: Step) -> str | None:
    if step.failure_code:
        return step.failure_code
    if step.submit:
        return "submitted to the rail"
    return None


async def on_rail_outcome(psp_reference: str, status: str, failure_code: str | None) -> dict:
    """Apply an outcome the rail reported (through the IPN service). If the payout was
    waiting for exactly this outcome as its next step, the scenario moves on past it."""
    async with db.transaction():
        row = await db.fetchrow(f"SELECT {service.COLUMNS} FROM payout WHERE psp_reference = $1 FOR UPDATE",
                                psp_reference)
        if row is None:
            raise NotFound(f"No payout with psp_reference {psp_reference}")
        at = now()
        sets: dict = {}
        steps = steps_of(row["scenario"], row["track"])
        index = row["step_index"]
        if index < len(steps) and steps[index].via == "ipn" and steps[index].status == status:
            sets = {"step_index": index + 1, "next_action_at": due_at(steps, index + 1, at)}
        else:
            # An outcome outside the script (e.g. simulated): the script stops here.
            sets = {"next_action_at": None}
        if status == states.FAILED:
            sets["failure_code"] = failure_code or "rail_rejected"
        updated = await service.transition(row["id"], status, reason=f"rail: {status}", sets=sets, at=at, row=row)
        await schedule(row["id"], row["track"], sets.get("step_index", index), sets["next_action_at"])
        return dict(updated)


async def start_track(payout_id: str, to_status: str, track: str, *, merchant_id: str | None = None,
                      allowed_from: list[str], reason: str | None, extra: dict | None = None,
                      apply_first_step: bool = False):
    """Move a payout to `to_status` at the start of `track` (approve, release, reinitiate)."""
    async with db.transaction():
        row = await service.get_row(payout_id, merchant_id, lock=True)
        if row["status"] not in allowed_from:
            raise Conflict(f"The payout is {row['status']}; it cannot become {to_status}")
        at = now()
        scenario_name = (extra or {}).get("scenario", row["scenario"])
        sets = {**start_sets(scenario_name, track, at), **(extra or {})}
        if apply_first_step:
            sets["next_action_at"] = at
        if to_status != row["status"]:
            row = await service.transition(payout_id, to_status, merchant_id=merchant_id, allowed_from=allowed_from,
                                           reason=reason, sets=sets, at=at, row=row)
        else:
            row = await db.fetchrow(
                f"UPDATE payout SET track = $2, step_index = 0, next_action_at = $3, updated_at = $4"
                f" WHERE id = $1 RETURNING {service.COLUMNS}",
                payout_id, track, sets["next_action_at"], at,
            )
        if apply_first_step:
            await apply_step(row, at, reason=reason)
            row = await service.get_row(payout_id, None)
        else:
            await schedule(payout_id, track, 0, sets["next_action_at"])
        return row


async def sweep(overdue: timedelta = timedelta(seconds=10), limit: int = 2000) -> int:
    """Re-enqueue every step overdue by more than `overdue`: after a lost Redis job or a
    killed worker nothing stays stranded. Duplicates are harmless (see module doc)."""
    rows = await db.fetch(
        "SELECT id, track, step_index FROM payout WHERE next_action_at < $1 ORDER BY next_action_at LIMIT $2",
        now() - overdue, limit,
    )
    for r in rows:
        await queue.enqueue(STEP_JOB, r["id"], r["track"], r["step_index"])
    if rows:
        log.info("sweeper re-enqueued %d overdue payout steps", len(rows))
    return len(rows)
