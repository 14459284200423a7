"""What a page shows about a payout: which buttons apply to it now, what happens next and
why it ended where it did. Pure functions of the payout, the scenario it follows and the
viewer."""

from __future__ import annotations

from dataclasses import dataclass, field

from sandbox.auth.principal import Principal
from sandbox.dashboard.filters import money
from sandbox.payouts.lifecycle import planner
from sandbox.payouts.model import states
from sandbox.payouts.model.failures import CATALOGUE, FAILURES, RAIL_REJECTED, RAIL_RETURNED
from sandbox.payouts.model.rows import PayoutRow
from sandbox.payouts.model.scenarios import AFTER_RELEASE, Scenario, ScenarioTable
from sandbox.payouts.model.schemas import Payout
from sandbox.teams import scope as teams


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

    @property
    def team(self) -> str | None:
        """Whose merchants an admin sees: a team key's team, None for the operator (all)."""
        return teams.of(self.principal)


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


TOTALS = (("Opening balance", "opening_balance"), ("Topped up", "topped_up"), ("Collected", "collected"),
          ("Settled", "settled"), ("Declined", "declined"), ("Paid out", "paid_out"), ("Released", "released"),
          ("Returned", "returned"), ("In flight", "in_flight"))


def totals(summary_totals) -> list[tuple[str, object]]:
    """The balance summary's totals (count and amount each), labelled, in a fixed order."""
    return [(label, getattr(summary_totals, name)) for label, name in TOTALS]


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    selected: bool


@dataclass(frozen=True)
class Followed:
    """The scenario a payout follows and where it leaves the payout, for the page's words."""

    scenario: Scenario | None  # None: a built-in name the table no longer has
    end: str | None = None  # the status the scenario leaves the payout in, on the track it is on
    end_code: str | None = None  # the failure code it gives it then
    waits_for_bank: bool = False  # submitted, pending or processing, and no step of its own left


def followed(row: PayoutRow) -> Followed:
    """From the payout's row: a merchant's scenario is the payout's own copy (`script`), so
    it reads the same after the merchant deleted it. After an admin's release the payout
    is on the scenario's after-release steps, which say where it ends."""
    try:
        scenario = planner.scenario_of(row)
    except KeyError:
        return Followed(None)
    end, code = scenario.path[-1], scenario.failure_code
    if row.track == AFTER_RELEASE and scenario.after_release:
        end = scenario.after_release[-1].status
        code = next((step.failure_code for step in scenario.after_release if step.failure_code), None)
    # No step due: nothing of the scenario's moves it on; a step the rail reports keeps one due.
    waits = (row.psp_reference is not None and row.status in states.AWAITING_BANK
             and row.next_action_at is None)
    return Followed(scenario, end, code, waits)


@dataclass(frozen=True)
class SimulateForm:
    """The simulate control, saying what the scenario would have done: its own outcome (and
    failure code) preselected, every other outcome labelled as an override."""

    outcomes: list[Choice]
    codes: list[Choice]
    note: str


def simulate_form(payout: Payout, followed: Followed, outcomes: list[str]) -> SimulateForm | None:
    if not outcomes:
        return None
    end, waits = followed.end, followed.waits_for_bank
    planned = end if end in outcomes and end != payout.status else None
    planned_code = followed.end_code if planned else None
    if planned:
        why = f" ({planned_code})" if planned_code else ""
        note = (f"The scenario would end this payout {planned}{why}: that is preselected. Any other outcome"
                " overrides the scenario.")
    elif waits or end is None:
        note = "The scenario waits for the bank's answer: the outcome you pick is that answer."
    elif end == payout.status:
        note = f"The scenario leaves this payout {end}: any outcome here overrides the scenario."
    else:  # its own steps take it on (to on_hold, say): the bank's answer is not one of them
        note = f"The scenario would take this payout on to {end}: any outcome here overrides the scenario."
    overrides = not waits and end is not None
    first = planned or outcomes[0]
    choices = [Choice(o, f"{o} (the scenario's outcome)" if o == planned else
                      (f"{o} (overrides the scenario)" if overrides else o), o == first)
               for o in outcomes]
    codes = [Choice("", f"no reason (a failure records {RAIL_REJECTED}, a return {RAIL_RETURNED})",
                    planned_code is None)]
    codes += [Choice(code, f"{code} ({entry.iso_reason})", code == planned_code) for code, entry in CATALOGUE.items()]
    return SimulateForm(choices, codes, note)


def scenario_history(payout: Payout, events: list) -> list[str]:
    """The scenarios the payout followed, oldest first: a reinitiate to another account
    number picks a new one, and every event's payout names the scenario it followed then."""
    seen: list[str] = []
    for event, _ in reversed(events):  # newest first on the page
        name = event.data.get("scenario") if isinstance(event.data, dict) else None
        if name and (not seen or seen[-1] != name):
            seen.append(name)
    if not seen or seen[-1] != payout.scenario:
        seen.append(payout.scenario)
    return seen


def explain(payout: Payout, followed: Followed, table: ScenarioTable, viewer: Viewer) -> str:
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
        why = f" ({FAILURES[payout.failure_code]})" if payout.failure_code in FAILURES else ""
        return f"Paid, then returned by the beneficiary's bank{why}: the funds are back in available."
    if status == states.REJECTED:
        return "Rejected by an admin: the funds are back in available."
    if status == states.CANCELLED:
        return "Cancelled: the funds are back in available."
    if followed.waits_for_bank:
        return "Submitted to the bank, which has not answered: use Simulate rail callback to decide."
    if status == states.RETRYING:
        return "The last attempt did not go through (the timeline says why); the sandbox tries again shortly."
    return "In flight: the worker moves it along its scenario; this page updates by itself."
