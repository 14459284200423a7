"""The promise of the rules: a timeline they accept never leaves a payout stuck. Random
timelines (hypothesis) are offered to `rules.checked`; each one accepted is walked by the
planner alone on a manual clock, as the worker would, with the rail's callbacks answered
and an admin's release given when it holds: every move is one the state machine allows,
and the payout ends where something still moves it on (the end of its path, a person, or
the bank's answer to a submitted payout) with nothing left due. Pure: no database."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox.core.errors import ImpossibleTimeline
from sandbox.payouts.lifecycle import planner
from sandbox.payouts.model import scenarios, states
from sandbox.payouts.model.failures import FAILURE_CODES
from sandbox.payouts.model.rows import PayoutRow
from sandbox.scenarios import rules
from sandbox.scenarios.schemas import ScenarioCreate

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
STEP_STATUSES = ["pending", "processing", "retrying", "on_hold", "success", "failed", "returned"]

WORKER_MOVES = {status: sorted(s.value for s in following if s.value in STEP_STATUSES)
                for status, following in states.NEXT.items()}


@st.composite
def steps_from(draw, start: str, most: int) -> list[dict]:
    """Steps that mostly follow the state machine from `start` (so that many are
    accepted), now and then any status at all, each with any of the step's options."""
    steps, status = [], start
    for _ in range(draw(st.integers(1, most))):
        following = WORKER_MOVES[states.PayoutStatus(status)] + [status]
        nxt = draw(st.sampled_from(following) if draw(st.integers(0, 9)) else st.sampled_from(STEP_STATUSES))
        step = {"status": nxt, "after_s": draw(st.sampled_from([0, 1, 2.5, 86400])),
                "submit": draw(st.booleans())}
        if nxt in ("success", "failed", "returned") and draw(st.booleans()):
            step["via"] = "ipn"
        if nxt in ("failed", "returned") or not draw(st.integers(0, 9)):
            step["failure_code"] = draw(st.sampled_from(FAILURE_CODES))
        steps.append(step)
        status = nxt
    return steps


@st.composite
def timeline(draw) -> dict:
    steps = draw(steps_from("pending", 8))
    held = steps[-1]["status"] == "on_hold"
    after = draw(steps_from("on_hold", 4)) if held or not draw(st.integers(0, 9)) else []
    return {"name": "random", "title": "Random", "steps": steps, "after_release": after}

def _row(scenario: scenarios.Scenario) -> PayoutRow:
    history = msgspec.json.encode([{"status": "pending", "at": "2026-11-25T09:00:00.000Z", "reason": "created"}])
    return PayoutRow(id="po_random", merchant="m_1", amount=100, currency="PKR", status="pending",
                     scenario=scenario.name, destination="{}", reference=None, description=None, metadata=None,
                     attempts=0, failure_code=None, psp_reference=None, status_history=history.decode(),
                     track=planner.MAIN, step_index=0,
                     next_action_at=planner.first_step_at(scenario, "pending", planner.Now(T0)),
                     created_at=T0, updated_at=T0, script=scenarios.script_of(scenario))


def _walk(row: PayoutRow) -> PayoutRow:
    """Only time passes, on a manual clock (the rail's callbacks answered at once)."""
    for _ in range(60):
        if row.next_action_at is None:
            return row
        before = row.status
        plan = planner.step(row, planner.Now(row.next_action_at, manual=True))
        for move in plan.moves:
            assert move.after.status in states.NEXT[states.PayoutStatus(before)], (before, move.after.status)
            before = move.after.status
        row = plan.row
    raise AssertionError("the walk did not end")


def _ended_well(row: PayoutRow) -> None:
    assert row.next_action_at is None
    waits_for_bank = row.status in (states.PENDING, states.PROCESSING) and row.psp_reference is not None
    assert row.status in states.FINAL or row.status == states.ON_HOLD or waits_for_bank, row.status
    if waits_for_bank:
        assert states.outcomes_for(row.status), "the bank may still answer it"


@settings(max_examples=400, deadline=None)
@given(timeline())
def test_an_accepted_timeline_never_leaves_a_payout_stuck(body):
    try:
        scenario = rules.checked(msgspec.convert(body, ScenarioCreate))
    except ImpossibleTimeline as refused:
        assert refused.errors and refused.errors[0].field.split("[")[0] in ("steps", "after_release")
        return
    row = _walk(_row(scenario))
    _ended_well(row)
    if row.status == states.ON_HOLD:  # an admin releases it: the after-release steps run
        plan = planner.release(row, None, planner.Now(row.updated_at, manual=True))
        _ended_well(_walk(plan.row))
