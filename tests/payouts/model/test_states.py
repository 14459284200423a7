"""The payout status sets say the same thing as the state machine they are named from."""

from __future__ import annotations

from typing import get_args, get_type_hints

import pytest

from ipn.app import RailCallback
from sandbox.ledger.service import KINDS
from sandbox.payouts.model import states
from sandbox.payouts.model.schemas import SimulateOutcome
from sandbox.payouts.model.states import PayoutStatus as S

# How a final payout may come back: the bank returns a paid one, the merchant reinitiates a failed one.
REOPEN = {S.SUCCESS: {S.RETURNED}, S.FAILED: {S.PENDING}}


def test_every_status_is_final_or_in_flight_never_both():
    assert states.FINAL | states.IN_FLIGHT == set(S)
    assert not states.FINAL & states.IN_FLIGHT


@pytest.mark.parametrize("status", sorted(states.FINAL))
def test_a_final_status_moves_on_only_when_reopened(status):
    assert states.NEXT[status] == REOPEN.get(status, set())


def test_terminal_statuses_are_the_final_ones_nothing_reopens():
    assert states.TERMINAL == states.FINAL - REOPEN.keys()
    assert all(not states.NEXT[s] for s in states.TERMINAL)


@pytest.mark.parametrize(("named", "target"), [
    (states.CANCELLABLE, S.CANCELLED),
    (states.REJECTABLE, S.REJECTED),
    (states.APPROVABLE, S.PENDING),
    (states.REINITIABLE, S.PENDING),
    (states.RELEASABLE, S.PROCESSING),
])
def test_each_action_set_only_holds_statuses_the_machine_lets_move_there(named, target):
    assert named and named <= states.sources(target)


def test_actions_that_wait_for_an_admin_are_the_admin_statuses():
    assert states.REJECTABLE == states.AWAITING_ADMIN
    assert states.APPROVABLE | states.RELEASABLE == states.AWAITING_ADMIN


def test_a_submitted_pending_payout_is_not_cancellable():
    assert states.may_cancel(S.PENDING, submitted=False)
    assert not states.may_cancel(S.PENDING, submitted=True)
    assert states.may_cancel(S.ON_HOLD, submitted=True)
    assert not states.may_cancel(S.PROCESSING, submitted=False)


def test_rail_outcomes_are_what_the_ipn_and_simulate_accept():
    assert states.RAIL_OUTCOMES == {S.SUCCESS, S.FAILED, S.RETURNED}
    for struct in (RailCallback, SimulateOutcome):
        assert set(get_args(get_type_hints(struct)["status"])) == states.RAIL_OUTCOMES
    # Each outcome can be reported for some status, and only where the machine allows it.
    for outcome in states.RAIL_OUTCOMES:
        assert states.sources(outcome)
        assert [s for s in S if states.rail_may_report(s, outcome)] == [s for s in S if outcome in states.NEXT[s]]
    assert states.outcomes_for(S.SUCCESS) == [S.RETURNED]


def test_status_filter_accepts_names_and_refuses_the_rest():
    assert states.parse_filter("") is None
    assert states.parse_filter("on_hold") is S.ON_HOLD
    with pytest.raises(Exception, match="status"):
        states.parse_filter("paid")


def _locked_along_every_path(max_moves: int = 7):
    """Walk every path of the machine from creation; yield (status, locked) after each
    move, `locked` in multiples of the amount as the ledger kinds of the moves leave it."""
    start = [(S.IN_REVIEW, KINDS["payout_created"]["locked"]), (S.PENDING, KINDS["payout_created"]["locked"])]
    frontier = [(s, locked, 0) for s, locked in start]
    while frontier:
        status, locked, moves = frontier.pop()
        yield status, locked
        if moves == max_moves:
            continue
        for nxt in states.NEXT[status]:
            kind = states.ledger_kind(status, nxt)
            frontier.append((nxt, locked + (KINDS[kind].get("locked", 0) if kind else 0), moves + 1))


def test_funds_stay_locked_exactly_while_a_payout_is_in_flight():
    seen = set()
    for status, locked in _locked_along_every_path():
        assert locked == (1 if status in states.IN_FLIGHT else 0), status
        seen.add(status)
    assert seen == set(S)
