"""The planner alone, with no database, Redis or clock: from every payout state every
scenario can reach, every operator action and every way time can pass is planned, and
each plan must be a legal path of the state machine whose ledger postings balance and
keep the merchant's buckets true, and asking again for what a plan did must do nothing.
Every case is pure computation, so the whole walk of thousands of cases takes a moment."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter, deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import msgspec
import pytest

from sandbox.core.errors import Conflict
from sandbox.ledger.service import legs
from sandbox.payouts.lifecycle import planner
from sandbox.payouts.model import scenarios, states
from sandbox.payouts.model.rows import PayoutRow
from sandbox.scenarios import rules
from sandbox.scenarios.schemas import ScenarioCreate

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
AMOUNT = 12_345_67
TABLE = scenarios.table()
# Merchants' own scenarios (sandbox/scenarios/), as its rules accept them: walked like the
# built-in ones, from the copy a payout carries (`script`).
CUSTOM = [rules.checked(msgspec.convert(body, ScenarioCreate)) for body in (
    {"name": "three_timeouts_then_blocked", "title": "t", "steps": [
        {"status": "processing", "after_s": 1, "submit": True},
        *[{"status": s, "after_s": 2} for s in ("retrying", "processing") * 2],
        {"status": "retrying", "after_s": 2, "reason": "rail_timeout"},
        {"status": "processing", "after_s": 5},
        {"status": "failed", "after_s": 1, "failure_code": "account_frozen"}]},
    {"name": "returned_two_days_later", "title": "t", "suffix": "7001", "steps": [
        {"status": "processing", "after_s": 1, "submit": True}, {"status": "success", "after_s": 2},
        {"status": "returned", "after_s": 172800, "via": "ipn", "failure_code": "incorrect_account_holder_name"}]},
    {"name": "hold_then_bank_decides", "title": "t", "steps": [{"status": "on_hold", "after_s": 1}],
     "after_release": [{"status": "processing", "submit": True},
                       {"status": "failed", "after_s": 3, "via": "ipn", "failure_code": "declined"}]},
    {"name": "bank_answers_by_callback", "title": "t", "steps": [
        {"status": "pending", "after_s": 1, "submit": True},
        {"status": "success", "after_s": 60, "via": "ipn"}]},
)]
SCENARIOS = [*TABLE.scenarios, *CUSTOM]


def _new(scenario: scenarios.Scenario, status: str) -> PayoutRow:
    at = planner.Now(T0)
    history = msgspec.json.encode([{"status": status, "at": "2026-11-25T09:00:00.000Z", "reason": "created"}])
    return PayoutRow(id=f"po_{scenario.name}_{status}", merchant="m_1", amount=AMOUNT, currency="PKR", status=status,
                     scenario=scenario.name, destination='{"type": "bank_account"}', reference=None, description=None,
                     metadata=None, attempts=0, failure_code=None, psp_reference=None,
                     status_history=history.decode(), track=planner.MAIN, step_index=0,
                     next_action_at=planner.first_step_at(scenario, status, at), created_at=T0, updated_at=T0,
                     script=scenarios.script_of(scenario))


class Model:
    """The merchant's buckets as the plans' postings leave them, from the payout's creation."""

    def __init__(self, buckets: dict[str, int] | None = None) -> None:
        self.buckets = Counter(buckets or {"available": -AMOUNT, "locked": AMOUNT})

    def post(self, kind: str) -> Model:
        entries = legs(kind, AMOUNT)
        assert sum(amount for _, amount in entries) == 0, f"{kind}: its legs do not balance"
        after = Model(dict(self.buckets))
        for bucket, amount in entries:
            after.buckets[bucket] += amount
        return after


def _check(row: PayoutRow, model: Model, plan: planner.Plan) -> Model:
    """The plan is a legal path from `row`, and its postings keep the buckets true."""
    status = row.status
    for move in plan.moves:
        assert move.before == status, "each move starts where the one before it ended"
        assert move.after.status in states.NEXT[states.PayoutStatus(status)], f"{status} -> {move.after.status}"
        assert move.after.id == row.id and move.after.amount == row.amount
        if (kind := move.ledger_kind) is not None:
            model = model.post(kind)
        status = move.after.status
    assert plan.row.status == status
    # Each move shows after the one before it, even where the clock stands still (`now` is
    # often the payout's own last moment here), and every failure or return has its reason.
    shown = [change["at"] for change in msgspec.json.decode(plan.row.status_history)]
    assert all(a < b for a, b in pairwise(shown)), shown  # one format: text order is time order
    assert [m.after.updated_at for m in plan.moves] == sorted({m.after.updated_at for m in plan.moves})
    assert plan.row.updated_at >= row.updated_at, "a payout's updated_at never goes back"
    if status in (states.FAILED, states.RETURNED):
        assert plan.row.failure_code is not None, f"a {status} payout without a reason"
    # The payout's funds are locked exactly while it is in flight, and paid out exactly
    # while it stands paid; what the merchant holds never goes negative.
    assert model.buckets["locked"] == (AMOUNT if status in states.IN_FLIGHT else 0), status
    assert model.buckets["available"] == (-AMOUNT if status in states.IN_FLIGHT | {states.SUCCESS} else 0), status
    assert model.buckets["pending"] == 0
    assert plan.row.step_index <= len(planner.steps_of(plan.row, plan.row.track))
    if plan.row.status in states.TERMINAL:
        assert plan.row.next_action_at is None, "nothing is due for a payout nothing may follow"
    # What the row says is due next is scheduled, unless the rail's callback was sent for it
    # (the sweeper resends it when overdue); nothing is scheduled that the row does not wait for.
    due = plan.row.next_action_at
    if due is None:
        assert plan.next is None
    elif plan.callback is None:
        assert plan.next == (plan.row.track, plan.row.step_index, due), (plan.next, plan.row)
    return model


def _actions(row: PayoutRow) -> list[tuple[str, Callable[[planner.Now], planner.Plan | None], bool]]:
    """(name, the plan it asks for at a given time, whether the state machine allows it)."""
    history = planner.history(row)
    out: list[tuple[str, Callable[[planner.Now], planner.Plan | None], bool]] = [
        ("approve", lambda now: planner.approve(row, None, now), row.status in states.APPROVABLE),
        ("reject", lambda now: planner.reject(row, None, now), row.status in states.REJECTABLE),
        ("release", lambda now: planner.release(row, None, now), row.status in states.RELEASABLE),
        ("cancel", lambda now: planner.cancel(row, None, now),
         states.may_cancel(row.status, row.psp_reference is not None)),
        ("reinitiate", lambda now: planner.reinitiate(row, now), states.may_reinitiate(row.status, history)),
    ]
    if row.status in states.REINITIABLE:  # to a corrected destination: any scenario's account
        out += [(f"reinitiate to {s.name}", lambda now, s=s: planner.reinitiate(row, now, ('{"c": 1}', s)),
                 states.may_reinitiate(row.status, history)) for s in SCENARIOS]
    if row.psp_reference is not None:
        out += [(f"rail {outcome}", lambda now, o=outcome: planner.rail_outcome(row, o, None, now),
                 states.rail_may_report(row.status, outcome)) for outcome in states.RAIL_OUTCOMES]
    return out


def _key(row: PayoutRow) -> tuple:
    return (row.scenario, row.status, row.track, row.step_index, row.psp_reference is not None, row.failure_code,
            row.next_action_at is not None, states.reinitiations(planner.history(row)))


def _walk() -> Counter:
    """Every state each scenario reaches from both starts (pending, in review), through
    every action and every way time passes; returns how many cases of each kind ran."""
    cases: Counter = Counter()
    seen: set[tuple] = set()
    todo = deque((_new(s, start), Model()) for s in SCENARIOS for start in sorted(states.INITIAL))
    while todo:
        row, model = todo.popleft()
        if _key(row) in seen:
            continue
        seen.add(_key(row))
        now = planner.Now(row.next_action_at or row.updated_at)
        follow: list[planner.Plan] = []

        # Time passes: the worker's due steps (a chain), a step job, a manual clock's one step.
        if row.next_action_at is not None:
            early = planner.Now(row.next_action_at - timedelta(seconds=1))
            assert planner.due(row, early) is None or row.status in states.TERMINAL, "nothing is due before its time"
            for name, plan in (("due", planner.due(row, now)),
                               ("job", planner.job(row, row.track, row.step_index, now)),
                               ("clock step", planner.step(row, planner.Now(now.at, manual=True)))):
                assert plan is not None, f"{name}: a due step plans something"
                cases[name] += 1
                _check(row, model, plan)
                # The same step's job again (a duplicate, a retry) at the same time plans nothing.
                assert planner.job(plan.row, row.track, row.step_index, now) is None, name
                follow.append(plan)
        assert planner.job(row, row.track, row.step_index + 1, now) is None, "a late job for another step plans nothing"

        # People and the rail: each action is planned exactly when the state machine allows it.
        for name, ask, allowed in _actions(row):
            cases["action"] += 1
            if not allowed:
                with pytest.raises(Conflict):
                    ask(now)
                continue
            plan = ask(now)
            assert plan is not None and plan.moves, name
            _check(row, model, plan)
            # The same action again, on the payout as it left it, is refused: it changes nothing twice.
            again = {n: a for n, a, _ in _actions(plan.row)}
            with pytest.raises(Conflict):
                again[name.split(" to ")[0]](now)
            follow.append(plan)

        for plan in follow:
            after = model
            for move in plan.moves:
                if move.ledger_kind:
                    after = after.post(move.ledger_kind)
            todo.append((plan.row, after))
    cases["states"] = len(seen)
    return cases


def test_every_plan_from_every_reachable_state_is_legal_balanced_and_not_repeated():
    cases = _walk()
    # Every scenario's every step was reached, and every person's action was tried at every point.
    assert cases["states"] >= 10 * len(SCENARIOS), cases
    assert sum(cases.values()) > 2000, cases


def test_every_scenario_ends_where_its_path_says_when_only_time_passes():
    for scenario in SCENARIOS:
        row = _new(scenario, states.PENDING)
        walked = [row.status]
        for _ in range(50):
            if row.next_action_at is None:
                break
            plan = planner.step(row, planner.Now(row.next_action_at, manual=True))
            walked += [move.after.status for move in plan.moves]
            row = plan.row
        assert walked == scenario.path or scenario.path[-1] == states.ON_HOLD and walked == scenario.path[:len(walked)]


def test_moves_in_one_instant_are_shown_one_millisecond_apart():
    """At time scale 0 a chain takes a whole scenario at one moment: each move still
    shows (to the millisecond, as the wire does) after the one before it."""
    row = msgspec.structs.replace(_new(TABLE.by_name("bank_offline_then_success"), states.PENDING), next_action_at=T0)
    plan = planner.due(row, planner.Now(T0, scale=0))
    assert [m.after.status for m in plan.moves] == TABLE.by_name("bank_offline_then_success").path[1:]
    shown = [change["at"] for change in msgspec.json.decode(plan.row.status_history)]
    assert shown == [f"2026-11-25T09:00:00.00{n}Z" for n in range(7)]
    assert [m.after.updated_at for m in plan.moves] == [T0 + timedelta(milliseconds=n) for n in range(1, 7)]
    # Later moves at a later time keep theirs.
    later = planner.Now(T0 + timedelta(seconds=5))
    assert planner.reject(_new(TABLE.by_name("success"), states.IN_REVIEW), None, later).row.updated_at == later.at


def test_the_chain_stops_at_its_bound_and_schedules_the_rest(monkeypatch):
    monkeypatch.setattr(planner, "MAX_STEPS_PER_JOB", 1)
    row = _new(TABLE.by_name("success"), states.PENDING)
    plan = planner.due(row, planner.Now(T0 + timedelta(hours=1)))
    assert [m.after.status for m in plan.moves] == ["processing"]
    assert plan.next == (planner.MAIN, 1, plan.row.next_action_at)


def test_the_planner_imports_no_database_redis_or_clock():
    code = ("import sys, sandbox.payouts.lifecycle.planner; "
            "print([m for m in sys.modules if m.split('.')[0] in ('asyncpg', 'redis', 'arq', 'piccolo', 'httpx')"
            " or m in ('sandbox.db', 'sandbox.core.clock', 'sandbox.settings', 'sandbox.enqueue')])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
