"""What a page shows about a payout: which buttons apply to it now, what happens next and
why it ended where it did. Pure functions of the payout, the scenario table and the viewer."""

from __future__ import annotations

from dataclasses import dataclass, field

from sandbox.auth.keys import Principal
from sandbox.dashboard.filters import money
from sandbox.payouts import states
from sandbox.payouts.failures import FAILURES
from sandbox.payouts.scenarios import Scenario, ScenarioTable
from sandbox.payouts.schemas import Payout


@dataclass(frozen=True)
class Viewer:
    principal: Principal
    name: str

    @property
    def is_admin(self) -> bool:
        return self.principal.role == "admin"

    @property
    def merchant_id(self) -> str | None:
        return self.principal.merchant_id


@dataclass
class Actions:
    cancel: bool = False
    reinitiate: bool = False
    simulate: list[str] = field(default_factory=list)
    approve: bool = False
    reject: bool = False
    release: bool = False

    def any(self) -> bool:
        return bool(self.cancel or self.reinitiate or self.simulate or self.approve or self.reject or self.release)


def actions(payout: Payout, viewer: Viewer) -> Actions:
    status, submitted = payout.status, payout.psp_reference is not None
    if viewer.is_admin:
        return Actions(approve=status in states.APPROVABLE, release=status in states.RELEASABLE,
                       reject=status in states.REJECTABLE)
    return Actions(
        cancel=states.may_cancel(status, submitted),
        reinitiate=states.may_reinitiate(status, (change.status for change in payout.status_history)),
        simulate=[o.value for o in states.outcomes_for(status)] if submitted else [],
    )


TOTALS = (("Topped up", "topped_up"), ("Collected", "collected"), ("Settled", "settled"), ("Declined", "declined"),
          ("Paid out", "paid_out"), ("Released", "released"), ("Returned", "returned"), ("In flight", "in_flight"))


def totals(summary_totals) -> list[tuple[str, object]]:
    """The balance summary's totals (count and amount each), labelled, in a fixed order."""
    return [(label, getattr(summary_totals, name)) for label, name in TOTALS]


def scenario_of(payout: Payout, table: ScenarioTable) -> Scenario | None:
    try:
        return table.by_name(payout.scenario)
    except KeyError:
        return None


def explain(payout: Payout, table: ScenarioTable, viewer: Viewer) -> str:
    """One sentence: why the payout is where it is, and what moves it on."""
    status = payout.status
    if status == states.IN_REVIEW:
        who = "Approve or reject it below." if viewer.is_admin else (
            "An admin approves or rejects it: sign in with the admin key that sandbox up printed"
            " and open the review queue.")
        return f"The amount is {money(table.review.min_amount)} or more, so it waits for a manual review. {who}"
    if status == states.ON_HOLD:
        who = "Release or reject it below." if viewer.is_admin else "An admin releases or rejects it."
        return f"Held for compliance. {who}"
    if status == states.FAILED:
        why = FAILURES.get(payout.failure_code or "", payout.failure_code or "no reason given")
        return (f"Failed: {why}. The funds are back in available. Reinitiate to try again, optionally to"
                " another account number (its last four digits pick the scenario).")
    if status == states.SUCCESS:
        return "Paid: the funds left the locked bucket for the beneficiary."
    if status == states.RETURNED:
        return "Paid, then returned by the beneficiary's bank: the funds are back in available."
    if status == states.REJECTED:
        return "Rejected by an admin: the funds are back in available."
    if status == states.CANCELLED:
        return "Cancelled: the funds are back in available."
    scenario = scenario_of(payout, table)
    if status == states.PENDING and payout.psp_reference and scenario and scenario.path[-1] == states.PENDING:
        return "Submitted to the bank, which has not answered: use Simulate rail callback to decide."
    if status == states.RETRYING:
        return "The last attempt timed out at the rail; the sandbox tries again shortly."
    return "In flight: the worker moves it along its scenario; this page updates by itself."
