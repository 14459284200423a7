"""A payout explained from what the API answers about it: its scenario's path, where it
is on it, what the sandbox will do next and when (the merchant's clock says), its events
in sequence with what caused each, and its failure or return reason from the catalogue.
Nothing here decides anything: every fact is read, only the words are this module's."""

from __future__ import annotations

from typing import Any

import msgspec

from sandbox.clocks.schemas import MerchantClock
from sandbox.payouts.model.scenarios import Scenario
from sandbox.payouts.model.schemas import Payout
from sandbox.payouts.model.states import IN_FLIGHT, may_reinitiate

MOST_EVENTS = 30  # of one payout, in sequence: a scenario walks fewer, retries and resends add some
OPERATOR = {"in_review": "an operator approves or rejects it (admin API or dashboard)",
            "on_hold": "an operator releases or rejects it (admin API or dashboard)"}


def explain(payout: Payout, scenario: Scenario | None, clock: MerchantClock, events: list[dict]) -> dict[str, Any]:
    walked = [change.status for change in payout.status_history]
    path = scenario.path if scenario is not None else []
    ahead = _ahead(walked, path)
    answer: dict[str, Any] = {
        "payout": {"id": payout.id, "amount": payout.amount, "currency": payout.currency, "status": payout.status,
                   "reference": payout.reference, "attempts": payout.attempts},
        "scenario": None if scenario is None else {
            "name": scenario.name, "title": scenario.title, "suffix": scenario.suffix, "path": path,
            "description": scenario.description},
        "walked": [msgspec.to_builtins(change) for change in payout.status_history],
        "next": _next(payout, ahead, scenario, clock),
        "events": [_event(e) for e in sorted(events, key=lambda e: e.get("sequence", 0))][:MOST_EVENTS],
        "failure": None if payout.failure is None else _failure(payout),
    }
    answer["summary"] = _summary(payout, scenario, walked, answer)
    return answer


def _ahead(walked: list[str], path: list[str]) -> list[str]:
    """The statuses of the path still to come: after the walk so far when the walk is the
    path's beginning, else after the path's last occurrence of where the payout is."""
    if path[:len(walked)] == walked:
        return path[len(walked):]
    if walked and walked[-1] in path:
        last = len(path) - 1 - path[::-1].index(walked[-1])
        return path[last + 1:]
    return []


def _next(payout: Payout, ahead: list[str], scenario: Scenario | None, clock: MerchantClock) -> dict[str, Any]:
    if payout.status in OPERATOR:
        return {"status": None, "when": f"when {OPERATOR[payout.status]}", "clock": clock.kind}
    if not ahead and payout.status in IN_FLIGHT:
        # Not ended, and no status left on the scenario's path: only the bank's callback moves it.
        bank = ("the bank's callback (the rail's signed IPN); nothing in this scenario sends it: send_bank_callback "
                f"(POST /sandbox/payouts/{payout.id}/simulate) with status success, failed or returned answers it, "
                "as the bank would")
        when = (f"it waits for {bank}" if payout.psp_reference is not None else
                f"it is submitted to the bank {_timing(clock)}, then waits for {bank}")
        return {"status": None, "waits_for": "the bank's callback", "when": when, "clock": clock.kind}
    if not ahead:
        return {"status": None, "when": "nothing: the payout is at the end of its scenario", "clock": clock.kind}
    step = next((s for s in (scenario.steps if scenario else []) if s.status == ahead[0]), None)
    delay = f"{step.after_s:g} s of clock time after the previous move" if step is not None else None
    return {"status": ahead[0], "then": ahead[1:], "delay": delay, "when": _timing(clock), "clock": clock.kind}


def _timing(clock: MerchantClock) -> str:
    if clock.kind == "manual":
        return (f"when the manual clock reaches {clock.next_step_at} (the merchant's next due step; its time is "
                f"{clock.time}): advance_clock moves it" if clock.next_step_at else
                "when the manual clock is advanced (advance_clock)")
    return f"on its own in real time{f', at about {clock.next_step_at}' if clock.next_step_at else ''}"


def _event(event: dict) -> dict[str, Any]:
    request = event.get("request")
    return {"sequence": event.get("sequence"), "type": event.get("type"), "id": event.get("id"),
            "at": event.get("created_at"),
            "caused_by": f"request {request.get('id')}" if isinstance(request, dict) else "the sandbox (worker, "
                                                                                           "rail or clock)"}


def _failure(payout: Payout) -> dict[str, Any]:
    """The reason, and what the merchant can do about it: only what the payout's status
    allows (states.may_reinitiate: a failed payout, not a returned one, may be tried again)."""
    failure = payout.failure
    assert failure is not None
    again = may_reinitiate(payout.status, [change.status for change in payout.status_history])
    if failure.retryable and again:
        todo = ("a retry can help: reinitiate the payout (reinitiate_payout, POST /payouts/{id}/reinitiate) once "
                "the cause is gone")
    elif failure.retryable:
        todo = (f"a retry can help, but this payout is {payout.status} and cannot be reinitiated: make a new "
                "payout once the cause is gone")
    elif again:
        todo = ("a retry cannot help as it is: correct the destination or ask the payee for another account, "
                "then reinitiate_payout with the corrected destination (account_suffix) or make a new payout")
    else:
        todo = ("a retry cannot help as it is: correct the destination or ask the payee for another account, "
                f"then make a new payout (a {payout.status} payout cannot be reinitiated)")
    return {"code": failure.code, "iso_reason": failure.iso_reason, "retryable": failure.retryable,
            "message": failure.message, "what_to_do": todo}


def _summary(payout: Payout, scenario: Scenario | None, walked: list[str], answer: dict[str, Any]) -> str:
    said = [f"Payout {payout.id} is {payout.status}."]
    if scenario is not None:
        said.append(f"It follows scenario {scenario.name} ({' -> '.join(scenario.path)})")
    said.append(f"{'and' if scenario is not None else 'It'} has walked {' -> '.join(walked)}.")
    failure = answer["failure"]
    if failure is not None:
        said.append(f"Reason {failure['code']} (ISO 20022 {failure['iso_reason']}): "
                    f"{failure['message'].rstrip('.')}. {failure['what_to_do'].capitalize()}.")
    nxt = answer["next"]
    said.append(f"Next: {nxt['status']}, {nxt['when']}." if nxt["status"] else f"Next: {nxt['when']}.")
    return " ".join(said)
