"""What counts as exercised, read from a payout's status history: the end of its
scenario, and the operator actions it went through. Pure functions: the API's coverage
and `sandbox trigger` both use them."""

from __future__ import annotations

from collections import Counter

from sandbox.payouts.model import scenarios, states

# Which status change each operator action leaves in a payout's status history (looked up by
# the history's plain strings, which a StrEnum member equals).
_BY_MOVE: dict[tuple[str, str], str] = {
    (states.IN_REVIEW, states.PENDING): "approve",
    (states.FAILED, states.PENDING): "reinitiate",
    (states.ON_HOLD, states.PROCESSING): "release",
}
_BY_STATUS: dict[str, str] = {states.REJECTED: "reject", states.CANCELLED: "cancel"}


def reached_end(scenario: scenarios.Scenario, statuses: list[str], submitted: bool) -> bool:
    """The payout's history walked the scenario's whole path, in order (other statuses may
    come between, e.g. review first); a scenario that submits to the rail was submitted
    (the `…0004` path is only `pending`: its end is being submitted and waiting)."""
    remaining = iter(statuses)
    walked = all(step in remaining for step in scenario.path)
    return walked and (submitted or not any(step.submit for step in scenario.steps))


def operator_moves(statuses: list[str]) -> Counter[str]:
    moves: Counter[str] = Counter()
    for before, after in zip(statuses, statuses[1:], strict=False):
        name = _BY_MOVE.get((before, after)) or _BY_STATUS.get(after)
        if name:
            moves[name] += 1
    return moves
