"""What counts as exercised, read from a payout's status history: the end of its
scenario, and the operator actions it went through. Pure functions: the API's coverage
and `sandbox trigger` both use them."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sandbox.payouts.model import failures, scenarios, states

# Which status change each operator action leaves in a payout's status history (looked up by
# the history's plain strings, which a StrEnum member equals).
_BY_MOVE: dict[tuple[str, str], str] = {
    (states.IN_REVIEW, states.PENDING): "approve",
    (states.FAILED, states.PENDING): "reinitiate",
    (states.ON_HOLD, states.PROCESSING): "release",
}
_BY_STATUS: dict[str, str] = {states.REJECTED: "reject", states.CANCELLED: "cancel"}


def end_outcome(scenario: scenarios.Scenario) -> str | None:
    """The `failure_code` a payout carries at the end of the scenario's path: the code of
    the step that enters its last status (a return without one records `rail_returned`);
    None when that status carries no code (`success`, `on_hold`, `pending`)."""
    last = scenario.path[-1]
    step = next((s for s in reversed(scenario.steps) if s.status == last), None)
    code = step.failure_code if step is not None else None
    return code or failures.default_for(last)


def reached_end(scenario: scenarios.Scenario, statuses: Sequence[str], submitted: bool,
                failure_codes: Sequence[str | None] | None = None, simulated: Sequence[bool] | None = None) -> bool:
    """The payout's history walked the scenario's whole path, in order (other statuses may
    come between, e.g. review first), and ended it with the scenario's outcome
    (`end_outcome`: its failure or return reason) when `failure_codes` are given; a
    scenario that submits to the rail was submitted (the `…0004` path is only `pending`:
    its end is being submitted and waiting). A status the rail reported because `simulate`
    asked (`simulated`) is no step of the scenario: it never counts toward its path."""
    expected = end_outcome(scenario)
    codes = [expected] * len(statuses) if failure_codes is None else failure_codes
    forced = [False] * len(statuses) if simulated is None else simulated
    path, at = scenario.path, 0
    walked = False
    for status, code, by_simulate in zip(statuses, codes, forced, strict=True):
        if by_simulate or status != path[at]:
            continue
        if at < len(path) - 1:
            at += 1
        elif code == expected:
            walked = True
            break
    return walked and (submitted or not any(step.submit for step in scenario.steps))


def simulated_to(statuses: Sequence[str], failure_codes: Sequence[str | None], simulated: Sequence[bool]) -> str | None:
    """Where `simulate` last forced the payout, in words ("failed with account_closed");
    None when it never did."""
    forced = [(s, c) for s, c, by_simulate in zip(statuses, failure_codes, simulated, strict=True) if by_simulate]
    if not forced:
        return None
    status, code = forced[-1]
    return f"{status} with {code}" if code else status


@dataclass
class Walked:
    """What the walks of a merchant's payouts reached, by scenario name."""

    followed: Counter[str] = field(default_factory=Counter)  # payouts that started it
    ended: Counter[str] = field(default_factory=Counter)  # of those, the ones that reached its end
    stopped: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # where the others stand
    forced: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # where `simulate` took them


def judge_walks(walks: Iterable[Any],
                scenario_of: Callable[[Any], scenarios.Scenario | None]) -> Walked:
    """Each walk (a payout's events on one scenario, as coverage reads them: `scenario`,
    `submitted`, `statuses`, `codes`, `simulated`, and `n` payouts that walked it so) judged
    by `reached_end` against the scenario `scenario_of` finds for it (None: one since removed,
    never reached). A walk short of the end counts where `simulate` took it, if it did, else
    where it stopped."""
    walked = Walked()
    for walk in walks:
        name, n = walk["scenario"], walk["n"]
        walked.followed[name] += n
        scenario = scenario_of(walk)
        statuses, codes, simulated = list(walk["statuses"]), list(walk["codes"]), list(walk["simulated"])
        if scenario is not None and reached_end(scenario, statuses, walk["submitted"], codes, simulated):
            walked.ended[name] += n
        elif (where := simulated_to(statuses, codes, simulated)) is not None:
            walked.forced[name].add(where)
        else:
            walked.stopped[name].add(statuses[-1])
    return walked


def operator_moves(statuses: list[str]) -> Counter[str]:
    moves: Counter[str] = Counter()
    for before, after in zip(statuses, statuses[1:], strict=False):
        name = _BY_MOVE.get((before, after)) or _BY_STATUS.get(after)
        if name:
            moves[name] += 1
    return moves
