"""Advancing a manual test clock: every step of the merchant's payouts that falls due
is applied, in due order, through the scenario engine (`apply_clock_step`: the step the
worker applies on a live clock), each at its due time.

The whole advance is one transaction holding the clock row's lock, so two advances of
one clock run one after the other, and the answer comes after everything is committed.
A step's due time comes from the scenario table; a step may schedule the payout's next
one, which joins the queue if it falls due before the advance ends."""

from __future__ import annotations

import heapq
from datetime import datetime, timedelta

import msgspec

from sandbox import db
from sandbox.clocks import store
from sandbox.clocks.schemas import ClockAdvance, ClockAdvanced, ClockTransition, MerchantClock
from sandbox.core import clock
from sandbox.core.clock import ManualClock, iso, now
from sandbox.core.errors import Conflict
from sandbox.idempotency import cause
from sandbox.payouts.lifecycle import engine, service
from sandbox.payouts.model.schemas import StatusChange
from sandbox.payouts.store import repository as payout_rows

# `until: idle` stops after this many steps (every scenario ends in a handful of steps,
# so only a bug could loop; the answer then says the clock is not idle).
MAX_STEPS = 100_000

_history = msgspec.json.Decoder(list[StatusChange])


class LiveClock(Conflict):
    title = "The merchant is on a live clock"


async def read(merchant_id: str) -> MerchantClock:
    manual = await store.manual_clock(merchant_id)
    next_step = await payout_rows.next_due(merchant_id)
    return MerchantClock(kind="manual" if manual else "live", time=iso(manual.time if manual else now()),
                     next_step_at=iso(next_step) if next_step else None)


async def advance(merchant_id: str, body: ClockAdvance) -> ClockAdvanced:
    async with db.transaction():
        started = await store.manual_clock(merchant_id, lock=True)
        if started is None:
            raise LiveClock("A live-clock merchant's payouts follow real time; create the merchant with "
                            '"clock": "manual" to advance its clock')
        if body.seconds is None and body.until is None:
            body = ClockAdvance(seconds=0)
        until = started.time + timedelta(seconds=body.seconds) if body.seconds is not None else None
        due = await payout_rows.due_steps(merchant_id, until)
        heapq.heapify(due)
        at, applied, transitions = started.time, 0, []
        while due and applied < MAX_STEPS:
            due_at, payout_id = heapq.heappop(due)
            at = max(at, due_at)
            with cause.unrequested():  # the clock made this step due: its events name no request
                next_at = await _apply(merchant_id, payout_id, due_at, at, transitions)
            applied += 1
            if next_at is not None and (until is None or next_at <= until):
                heapq.heappush(due, (next_at, payout_id))
        end = at if body.until == "idle" or until is None else until
        await store.set_time(merchant_id, end)
        idle = await payout_rows.next_due(merchant_id) is None
    clock.follow(None)
    return ClockAdvanced(time=iso(end), steps_applied=applied, transitions=transitions, idle=idle)


async def _apply(merchant_id: str, payout_id: str, due_at: datetime, at: datetime,
                 transitions: list[ClockTransition]) -> datetime | None:
    """Apply the payout's step due at `due_at`, at clock time `at`; adds the status changes
    it made to `transitions`; returns when the payout's next step falls due."""
    clock.follow(ManualClock(merchant_id, at))
    row = await service.get_row(payout_id, merchant_id, lock=True)
    if row.next_action_at != due_at:  # an operator moved it since it was listed
        return row.next_action_at
    seen = len(_history.decode(row.status_history))
    await engine.apply_clock_step(row)
    after = await service.get_row(payout_id, merchant_id)
    history = _history.decode(after.status_history)
    for before, change in zip(history[seen - 1:], history[seen:], strict=False):
        transitions.append(ClockTransition(payout_id=payout_id, from_status=before.status, to_status=change.status,
                                           at=change.at))
    return after.next_action_at
