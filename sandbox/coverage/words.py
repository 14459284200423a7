"""How a requirement that was not met is said, the same in the gate's verdict (API,
`sandbox gate`, the pytest plugin, JUnit) and in `sandbox coverage`: a scenario no payout
started, one whose payouts started and stopped short of its end (at which status), an
operator path never taken. A judge that says "never exercised" of a payout that stopped
half-way sends its reader looking for the wrong bug."""

from __future__ import annotations

from collections.abc import Iterable

from sandbox.coverage.asked import OPERATOR_PATHS
from sandbox.payouts.model.states import STATUSES

NEVER_STARTED = "never started"
NEVER_TAKEN = "never taken"


def stopped(statuses: Iterable[str]) -> str:
    """A started scenario whose payouts all stopped short: where, in the state machine's order."""
    where = set(statuses)
    named = ", ".join(f"`{s}`" for s in STATUSES if s in where)
    return f"started, stopped at {named}" if named else "started, not at its end"


def simulated(outcomes: Iterable[str]) -> str:
    """Where `simulate` took a scenario's payouts ("failed with account_closed"), as said."""
    said = []
    for outcome in sorted(set(outcomes)):
        status, _, code = outcome.partition(" with ")
        said.append(f"`{status}` with `{code}`" if code else f"`{status}`")
    return "simulated to " + ", ".join(said)


def of_scenario(entries: Iterable[dict]) -> str:
    """A scenario as coverage answers give it (one entry per merchant judged), not reached:
    never started, or started and stopped at a status, or taken elsewhere by `simulate`."""
    started = [e for e in entries if e["payouts"]]
    if not started:
        return NEVER_STARTED
    where = [status for e in started for status in e["stopped_at"]]
    forced = [outcome for e in started for outcome in e["simulated_to"]]
    if not forced:
        return stopped(where)
    return (stopped(where) + "; " if where else "started, ") + simulated(forced)


def short_of(name: str, coverages: list[dict]) -> str:
    """Why `name` (a scenario or an operator path, not reached) fell short, in words."""
    if name in OPERATOR_PATHS:
        return NEVER_TAKEN
    return of_scenario(s for answer in coverages for s in answer["scenarios"] if s["name"] == name)
