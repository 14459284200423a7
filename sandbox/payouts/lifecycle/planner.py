"""The scenario as a pure planner: given a payout (its row: status, track, step index,
attempts, amount), its scenario and the time, what happens next. Nothing here reads or
writes the database or Redis or asks the clock: the caller passes the time (`Now`) and
hands the answer (`Plan`) to `writer.write`, which applies it inside the caller's
transaction and schedules what is due once that commits.

Every path that moves a payout asks here, and only here:

- the worker: a step job (`job`) and the due steps of many payouts at once (`due`);
- a manual test clock's advance (`step`);
- the rail's callback (`rail_outcome`);
- an admin's `approve`, `reject` and `release`; the merchant's `cancel` and `reinitiate`.

A plan names everything it changes: the row as it leaves it; each status change in
order (`Move`: the row after it, from which the writer makes its `payout.<status>` event,
and the ledger kind it posts for the payout's amount, `states.ledger_kind`); the next
step to schedule (`Due`); the rail's callback to send (`callback`), or on a manual clock
the callback answered at once (`answered`).

A payout records where it is in its scenario: `track` (the list of steps: "main", or
"after_release"), `step_index` (the next step) and `next_action_at` (when it is due). A
step job names the step it was enqueued for and is planned only while the payout still
waits for exactly that step, so duplicate, late and concurrent jobs plan nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

import msgspec
from msgspec.structs import replace

from sandbox.core.timestamps import iso, later_than
from sandbox.payouts.model import failures, scenarios, states
from sandbox.payouts.model.errors import InvalidTransition, PayoutNotCancelable, ReinitiationLimit
from sandbox.payouts.model.rows import PayoutRow
from sandbox.payouts.model.scenarios import AFTER_RELEASE, MAIN, Scenario, Step
from sandbox.rail.messages import Notification, new_psp_reference

# If an IPN-reported step's callback is lost, the rail sends it again after this long
# (simulated time: it scales; resends carry the same notification id, so they are no-ops).
IPN_RESEND_S = 10

# Steps one plan may take back to back when each next one is already due (at time scale 0
# a whole scenario). The bound keeps one job (and the row lock it holds) short.
MAX_STEPS_PER_JOB = 8


@dataclass(frozen=True, slots=True)
class Now:
    """The time a plan is made at, as the caller's clock tells it."""

    at: datetime
    scale: float = 1.0
    """Real seconds per simulated second of a scenario's delays (SANDBOX_TIME_SCALE; 1 on
    a manual clock, which moves only when told)."""
    manual: bool = False
    """The merchant is on a manual test clock: no real time passes for the rail's callback
    to arrive in, so a step the rail reports is answered at once."""

    def plus(self, seconds: float) -> datetime:
        return self.at + timedelta(seconds=seconds * self.scale)


class Move(msgspec.Struct, frozen=True):
    """One status change: the status it leaves and the row as it leaves it."""

    before: str
    after: PayoutRow

    @property
    def ledger_kind(self) -> str | None:
        """The ledger transaction this change posts for the payout's amount (None: none)."""
        return states.ledger_kind(self.before, self.after.status)

    @property
    def event_type(self) -> str:
        return f"payout.{self.after.status}"


class Due(NamedTuple):
    """The step to schedule once the plan is written: its track, index and due time."""

    track: str
    step_index: int
    at: datetime


@dataclass(slots=True)
class Plan:
    row: PayoutRow
    """The payout as the plan leaves it."""
    moves: list[Move] = field(default_factory=list)
    next: Due | None = None
    callback: Notification | None = None
    """The rail's callback to send once the plan is written."""
    answered: Notification | None = None
    """On a manual clock: the rail's callback this plan answered already (the writer's
    caller records it as received, as the IPN service would)."""
    applied: bool = True
    """False when the plan only drops a step that can no longer happen."""
    rerouted: bool = False
    """The destination changed (a reinitiation to a corrected one), and with it the scenario."""


def scenario_of(row: PayoutRow) -> Scenario:
    """The scenario the payout follows: its own copy of a merchant's (`script`), else the
    built-in one of its name."""
    return scenarios.from_script(row.script) if row.script is not None else scenarios.table().by_name(row.scenario)


def steps_of(row: PayoutRow, track: str) -> list[Step]:
    scenario = scenario_of(row)
    return scenario.after_release if track == AFTER_RELEASE else scenario.steps


def due_at(steps: list[Step], index: int, now: Now) -> datetime | None:
    """When step `index` is due, or None when the track is finished."""
    if index >= len(steps):
        return None
    return now.plus(steps[index].after_s)


def first_step_at(scenario: Scenario, status: str, now: Now) -> datetime | None:
    """When a new payout's first step is due: a pending one's scenario starts; one in
    review waits for an admin."""
    return due_at(scenario.steps, 0, now) if status == states.PENDING else None


def history(row: PayoutRow) -> list[str]:
    """The statuses of the payout's history, oldest first."""
    return [change["status"] for change in msgspec.json.decode(row.status_history)]


def transition(row: PayoutRow, to_status: str, *, reason: str | None, at: datetime,
               next_action_at: datetime | None = None, allowed_from: frozenset[str] | None = None) -> Move:
    """The rule of every status change: whether the payout's status allows the move, and
    the row after it. `row` carries any other column the caller changes in the same move
    already replaced. `next_action_at`: when the next step is due; None leaves nothing
    due, so a cancelled or rejected payout keeps no job or sweeper busy. `allowed_from`
    narrows the statuses the move may start from (an admin rejects only what waits for
    them). Entering `processing` counts an attempt; a failure or a return nobody gave a
    code records its default (`failures.default_for`). The move is at `at`, or 1 ms after
    the payout's last one if `at` is not later (a clock that stands still): its history,
    its events and their webhooks show each move after the one before. Raises
    InvalidTransition."""
    if to_status not in states.NEXT[states.PayoutStatus(row.status)] or (
            allowed_from is not None and row.status not in allowed_from):
        raise InvalidTransition(row.status, to_status)
    changes = msgspec.json.decode(row.status_history)
    if changes:
        at = later_than(changes[-1]["at"], at)
    changes.append({"status": to_status, "at": iso(at), "reason": reason})
    after = replace(row, status=to_status, status_history=msgspec.json.encode(changes).decode(), updated_at=at,
                    next_action_at=next_action_at,
                    attempts=row.attempts + (1 if to_status == states.PROCESSING else 0),
                    failure_code=row.failure_code or failures.default_for(to_status))
    return Move(row.status, after)


# -- the worker and the clock: a payout's own steps ------------------------------------

def job(row: PayoutRow, track: str, index: int, now: Now) -> Plan | None:
    """A step job enqueued for step `index` of `track`: the steps due now, or None when
    the payout no longer waits for exactly that step (the job came twice, late, or after
    an operator moved the payout)."""
    if row.track != track or row.step_index != index:
        return None
    return due(row, now)


def due(row: PayoutRow, now: Now) -> Plan | None:
    """The payout's steps due by `now` (at most MAX_STEPS_PER_JOB: the rest is scheduled
    like any later step); None when its step is not due. Nothing can follow a terminal
    status: its due step is dropped (never retried)."""
    if row.next_action_at is None:
        return None
    if row.status in states.TERMINAL:
        return Plan(replace(row, next_action_at=None), applied=False)
    if row.next_action_at > now.at:
        return None
    plan = Plan(row)
    for _ in range(MAX_STEPS_PER_JOB):
        if not _decide(plan, now, None):
            return plan
    # The bound was reached with the next step due already: it is scheduled like any later step.
    assert plan.row.next_action_at is not None  # `_decide` returned True: a next step is due
    plan.next = Due(plan.row.track, plan.row.step_index, plan.row.next_action_at)
    return plan


def step(row: PayoutRow, now: Now) -> Plan:
    """The payout's current step alone, at `now` (a manual clock's advance applies steps
    one at a time, in due order across payouts)."""
    if row.status in states.TERMINAL:
        return Plan(replace(row, next_action_at=None), applied=False)
    plan = Plan(row)
    _take_step(plan, now, None)
    return plan


def _take_step(plan: Plan, now: Now, reason: str | None) -> None:
    row = plan.row
    steps = steps_of(row, row.track)
    index = row.step_index
    if index < len(steps) and steps[index].via == "ipn" and now.manual:
        # No real time passes for the rail's callback to arrive in: the step is answered
        # at once, as the IPN service would apply it.
        answered = _callback(row, index, steps[index])
        answer = rail_outcome(row, answered.status, answered.failure_code, now)
        plan.row, plan.next, plan.answered = answer.row, answer.next, answered
        plan.moves.extend(answer.moves)
    else:
        _decide(plan, now, reason)


def _decide(plan: Plan, now: Now, reason: str | None) -> bool:
    """Take the current step of `plan.row` into the plan. Returns whether the step after
    it is due already, for a chain to take next (a step the rail reports too: the chain
    sends its callback rather than a job that would only send it); else `plan.next` is
    the step to schedule (None: nothing follows, or the rail reports it)."""
    row = plan.row
    steps = steps_of(row, row.track)
    index = row.step_index
    plan.next = None
    if index >= len(steps):
        plan.row = replace(row, next_action_at=None)
        return False
    current = steps[index]
    if current.via == "ipn":
        # The rail reports this outcome itself; the IPN service applies it and moves on.
        plan.callback = _callback(row, index, current)
        # If the callback is lost, the sweeper finds the step overdue and the rail sends again.
        plan.row = replace(row, next_action_at=now.plus(IPN_RESEND_S))
        return False
    next_at = due_at(steps, index + 1, now)
    submitted = row.psp_reference or (new_psp_reference() if current.submit else None)
    row = replace(row, step_index=index + 1, psp_reference=submitted)
    if current.status == row.status:
        # A step that submits without a status change (the payout waits for the bank). Its
        # updated_at never goes back: a move before it may show 1 ms ahead of a still clock.
        plan.row = replace(row, next_action_at=next_at, updated_at=max(now.at, row.updated_at))
    else:
        row = replace(row, failure_code=current.failure_code or row.failure_code)
        move = transition(row, current.status, reason=reason or current.reason or step_reason(current),
                          at=now.at, next_action_at=next_at)
        plan.moves.append(move)
        plan.row = move.after
    plan.next = Due(row.track, index + 1, next_at) if next_at is not None else None
    return next_at is not None and next_at <= now.at


def step_reason(current: Step) -> str | None:
    if code := current.failure_code or failures.default_for(current.status):
        return code
    if current.submit:
        return "submitted to the rail"
    return None


def _callback(row: PayoutRow, index: int, current: Step) -> Notification:
    assert row.psp_reference is not None  # scenarios.load: an ipn step follows the submitting one
    # The id names the step; after a reinitiation the walk is a new one, so the id says
    # which (the rail's resends of one step share it, and only those are duplicates).
    walk = states.reinitiations(history(row))
    notification_id = f"{row.id}:{row.track}:{index}" + (f":r{walk}" if walk else "")
    return Notification(psp_reference=row.psp_reference, notification_id=notification_id,
                        status=current.status, failure_code=current.failure_code)


# -- the rail ---------------------------------------------------------------------------

def rail_outcome(row: PayoutRow, status: str, failure_code: str | None, now: Now) -> Plan:
    """An outcome the rail reported. If the payout waited for exactly this outcome as its
    next step, the scenario moves on past it; any other (a simulated one) stops the script.
    Raises InvalidTransition when the payout's status does not allow it."""
    steps = steps_of(row, row.track)
    index = row.step_index
    next_at = None
    if index < len(steps) and steps[index].via == "ipn" and steps[index].status == status:
        index += 1
        next_at = due_at(steps, index, now)
    if failure_code is not None and failures.default_for(status) is not None:  # why it failed or came back
        row = replace(row, failure_code=failure_code)
    move = transition(replace(row, step_index=index), status, reason=f"rail: {status}", at=now.at,
                      next_action_at=next_at)
    return Plan(move.after, [move], next=Due(row.track, index, next_at) if next_at is not None else None)


# -- people: admins and the merchant ----------------------------------------------------

def approve(row: PayoutRow, reason: str | None, now: Now) -> Plan:
    """A reviewed payout goes on its way: pending, its scenario from the start."""
    return _start(row, states.PENDING, MAIN, states.APPROVABLE, reason or "approved by an admin", now)


def release(row: PayoutRow, reason: str | None, now: Now) -> Plan:
    """A hold is lifted: the scenario's after-release steps start, the first at once (the
    table gives it no delay: `scenarios.RELEASE_MOVES_AT_ONCE`), each next one its `after_s`
    after the one before."""
    return _start(row, states.ON_HOLD, AFTER_RELEASE, states.RELEASABLE, reason or "released by an admin", now,
                  first_step_now=True)


def reinitiate(row: PayoutRow, now: Now, reroute: tuple[str, Scenario] | None = None) -> Plan:
    """A failed payout tried again: its funds locked again and its scenario walked from
    the start, optionally to a corrected destination (`reroute`: its JSON and the scenario
    its account number picks). Raises ReinitiationLimit after MAX_REINITIATIONS."""
    if row.status in states.REINITIABLE and not states.may_reinitiate(row.status, history(row)):
        raise ReinitiationLimit(states.MAX_REINITIATIONS)
    row = replace(row, psp_reference=None, failure_code=None)
    if reroute is not None:
        destination, scenario = reroute
        row = replace(row, destination=destination, scenario=scenario.name, script=scenarios.script_of(scenario))
    plan = _start(row, states.PENDING, MAIN, states.REINITIABLE, "reinitiated", now)
    plan.rerouted = reroute is not None
    return plan


def reject(row: PayoutRow, reason: str | None, now: Now) -> Plan:
    return _end(row, states.REJECTED, reason or "rejected by an admin", states.REJECTABLE, now)


def cancel(row: PayoutRow, reason: str | None, now: Now) -> Plan:
    """The merchant cancels a payout the bank has not seen (see `states.may_cancel`)."""
    if row.status in states.CANCELLABLE and not states.may_cancel(row.status, row.psp_reference is not None):
        raise PayoutNotCancelable()
    return _end(row, states.CANCELLED, reason or "cancelled by the merchant", states.CANCELLABLE, now)


def _end(row: PayoutRow, to_status: str, reason: str, allowed_from: frozenset[str], now: Now) -> Plan:
    move = transition(row, to_status, reason=reason, at=now.at, allowed_from=allowed_from)
    return Plan(move.after, [move])


def _start(row: PayoutRow, to_status: str, track: str, allowed_from: frozenset[str], reason: str, now: Now,
           first_step_now: bool = False) -> Plan:
    """Move the payout to `to_status` at the start of `track`."""
    if row.status not in allowed_from:
        raise InvalidTransition(row.status, to_status)
    next_at = now.at if first_step_now else due_at(steps_of(row, track), 0, now)
    row = replace(row, track=track, step_index=0)
    if to_status != row.status:
        move = transition(row, to_status, reason=reason, at=now.at, next_action_at=next_at,
                          allowed_from=allowed_from)
        plan = Plan(move.after, [move])
    else:
        plan = Plan(replace(row, next_action_at=next_at, updated_at=max(now.at, row.updated_at)))
    if first_step_now:
        _take_step(plan, now, reason)
    elif next_at is not None:
        plan.next = Due(track, 0, next_at)
    return plan
