"""The one writer: applies the planner's plans (`planner.Plan`) inside the caller's
transaction, and schedules what is due once it commits. Whoever moves a payout — the
worker, the IPN service, a clock's advance, an admin, the merchant — locks its row,
asks the planner and hands the answer here.

What one call writes, for any number of plans (the worker's claimed group of many
payouts, or an admin's one): every row and every event in one statement
(`many.write_steps`), ending with the merchant's postings in one call of its database
function (`ledger_post_many`: the transaction's last statement, so the merchant's balance
row is locked only until the commit; all or nothing, InsufficientFunds when refused, and
the caller's transaction rolls back). Plans of several merchants end that statement with
the first merchant's postings and post each other's in a statement of its own after it
(`ledger.post_many`). Once the transaction commits: the next steps (`schedule.schedule`:
a wake-up of `step_due` or a deferred job) and the rail's callbacks, in the transaction's
one after-commit Redis call."""

from __future__ import annotations

import functools
from datetime import datetime

import msgspec

from sandbox import db
from sandbox import enqueue as queue
from sandbox.core.ids import new_id
from sandbox.events import outbox
from sandbox.ledger import service as ledger
from sandbox.ledger.service import Posting
from sandbox.payouts.lifecycle import schedule
from sandbox.payouts.lifecycle.planner import Plan
from sandbox.payouts.model import views
from sandbox.payouts.model.schemas import Payout
from sandbox.payouts.store import many
from sandbox.payouts.store.repository import Event
from sandbox.rail import client as rail

_encode = msgspec.json.Encoder()


async def write(plans: list[Plan], at: datetime) -> Payout | None:
    """Apply the plans (their rows locked by the caller's transaction), made at `at`.
    Returns the payout as the last plan leaves it, as the API shows it (None: no plan)."""
    moves = [move for plan in plans for move in plan.moves]
    shown = [views.to_api(move.after) for move in moves]  # each change's event shows the payout as it left it
    events = [(move.after, Event(id=new_id("evt"), type=move.event_type, data=_encode.encode(payout).decode()))
              for move, payout in zip(moves, shown, strict=True)]
    postings: dict[str, list[Posting]] = {}
    for move in moves:
        if (kind := move.ledger_kind) is not None:
            payout = move.after
            postings.setdefault(payout.merchant, []).append(
                ledger.posting(payout.merchant, kind, payout.amount, payout.id, at))
    rows, rerouted = [plan.row for plan in plans], [plan.rerouted for plan in plans]
    # The first merchant's postings end the rows' statement (a claimed group's and an
    # admin's plans are one merchant's: one statement for all); another's follow it, each
    # in a statement of its own.
    merchants = list(postings.items())
    first, first_posted = merchants[0] if merchants else ("", [])
    made = await many.write_steps(rows, events, rerouted,
                                  posting=ledger.post_many_args(first, at, first_posted) if first_posted else ())
    if first_posted:
        await ledger.after_posting(first, made == len(first_posted))
    for merchant_id, posted in merchants[1:]:
        await ledger.post_many(merchant_id, at, posted)
    if moves:
        await outbox.event_written()
    for plan in plans:
        if (callback := plan.callback) is not None:
            await db.after_commit(functools.partial(
                queue.enqueue, rail.NOTIFY_JOB, callback.psp_reference, callback.notification_id, callback.status,
                callback.failure_code))
        if plan.next is not None:
            await schedule.schedule(plan.row, *plan.next)
    if not plans:
        return None
    # The last change's event shows the payout as the plan leaves it, unless a step that
    # changes no status (one that submits) came after it.
    return shown[-1] if moves and moves[-1].after is plans[-1].row else views.to_api(plans[-1].row)
