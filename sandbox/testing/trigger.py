"""`sandbox trigger SCENARIO`: make one payout that follows a scenario and narrate it.

It follows the payout by polling, not by a webhook endpoint of its own: polling needs
nothing reachable on the QA's machine and registers nothing on the merchant. Each poll
reads the payout (new `status_history` entries are the transitions) and GET /events for
it (each new event is a webhook the sandbox sends; its deliveries are shown once they
finish, for merchants with endpoints)."""

from __future__ import annotations

import time
from datetime import datetime

import httpx
import msgspec

from sandbox.client.blocking import api_client, expect
from sandbox.coverage.paths import reached_end
from sandbox.payouts.model import states
from sandbox.payouts.model.scenarios import ScenarioTable
from sandbox.runtime.up import fail

POLL_S = 0.25
FINAL = {s for s, following in states.NEXT.items() if not following}  # rejected, cancelled, returned

# What a payout resting in this status waits for, and how to give it.
NEXT_STEP = {
    states.PENDING: "it waits for the bank: POST /api/v1/sandbox/payouts/{id}/simulate "
                    '{"status": "success"} (or "failed") with this key',
    states.ON_HOLD: "it waits for an operator: POST /api/v1/admin/payouts/{id}/release (or /reject) with the admin key",
    states.IN_REVIEW: "it waits for an operator: POST /api/v1/admin/payouts/{id}/approve (or /reject) "
                      "with the admin key",
    states.FAILED: "it can be tried again: POST /api/v1/payouts/{id}/reinitiate with this key",
}


def _say(line: str) -> None:
    print(line, flush=True)


def _clock(at: str) -> str:
    return datetime.fromisoformat(at.replace("Z", "+00:00")).strftime("%H:%M:%S.%f")[:-3]


def scenario_table(client: httpx.Client) -> ScenarioTable:
    return msgspec.convert(expect(client.get("/sandbox/scenarios"), 200), ScenarioTable)


def list_scenarios(client: httpx.Client) -> int:
    table = scenario_table(client)
    width = max(len(s.name) for s in table.scenarios)
    for s in table.scenarios:
        picked_by = f"…{s.suffix}" if s.suffix else "by name"
        _say(f"{s.name.ljust(width)}  {picked_by:7}  {' → '.join(s.path)}{'  (yours)' if s.custom else ''}")
        if s.description:
            _say(f"{' ' * width}         {s.description}")
    _say(f"{table.review.title} (any scenario with --amount {table.review.min_amount} or more): "
         f"{table.review.description}")
    return 0


class Follower:
    """Prints what is new about one payout on each poll."""

    def __init__(self, client: httpx.Client, payout_id: str) -> None:
        self.client, self.payout_id = client, payout_id
        self.transitions = 0
        self.events: list[str] = []  # event ids in the order shown
        self.finished_deliveries: set[str] = set()

    def poll(self) -> dict:
        """Print what is new, transitions and webhooks together in time order."""
        payout = expect(self.client.get(f"/payouts/{self.payout_id}"), 200)
        history = payout["status_history"]
        new: list[tuple[str, str]] = []  # (ISO time, line): ISO strings sort in time order
        for i in range(self.transitions, len(history)):
            came_from = f"{history[i - 1]['status']} → " if i else ""
            reason = f"  ({history[i]['reason']})" if history[i].get("reason") else ""
            new.append((history[i]["at"], f"status   {came_from}{history[i]['status']}{reason}"))
        self.transitions = len(history)
        page = expect(self.client.get("/events", params={"payout_id": self.payout_id, "limit": 100}), 200)
        for event in reversed(page["data"]):  # newest first on the wire; ties keep log order
            if event["id"] not in self.events:
                self.events.append(event["id"])
                new.append((event["created_at"], f"webhook  {event['type']}  {event['id']}"))
        for at, line in sorted(new, key=lambda item: (item[0], not item[1].startswith("status"))):
            _say(f"  {_clock(at)}  {line}")
        self._deliveries()
        return payout

    def _deliveries(self) -> None:
        for event_id in self.events:
            for d in expect(self.client.get(f"/events/{event_id}/deliveries"), 200)["data"]:
                if d["status"] in ("succeeded", "failed") and d["id"] not in self.finished_deliveries:
                    self.finished_deliveries.add(d["id"])
                    answer = d["last_status_code"] or d["last_error"]
                    _say(f"                delivery {d['status']} to {d['url']} ({answer}, "
                         f"{d['attempt_count']} attempt(s))")


def trigger(client: httpx.Client, scenario_name: str, amount: str, timeout: float) -> int:
    table = scenario_table(client)
    try:
        scenario = table.by_name(scenario_name)
    except KeyError:
        names = ", ".join(s.name for s in table.scenarios)
        return fail(f"no scenario {scenario_name!r}; the sandbox has {names} (sandbox trigger --list)")
    # Named as well as picked by its suffix: a merchant's own scenario may have no suffix.
    suffix = scenario.suffix or "0000"
    destination = {"type": "bank", "bank_code": "HBL", "account_number": "1234567890" + suffix,
                   "account_title": "Ali Raza"}
    created = expect(client.post("/payouts", json={"amount": amount, "currency": "PKR", "destination": destination,
                                                   "scenario": scenario.name,
                                                   "description": f"sandbox trigger {scenario.name}"}), 201)
    _say(f"payout {created['id']}  {amount} PKR to …{suffix}  scenario {scenario.name}: "
         f"{' → '.join(scenario.path)}")
    follower = Follower(client, created["id"])
    deadline = time.monotonic() + timeout
    while True:
        payout = follower.poll()
        status = payout["status"]
        statuses = [h["status"] for h in payout["status_history"]]
        ended = reached_end(scenario, statuses, payout["psp_reference"] is not None)
        if ended or status in FINAL or status == states.IN_REVIEW:  # nothing more happens by itself
            break
        if time.monotonic() > deadline:
            return fail(f"payout {payout['id']} still {status} after {timeout:g}s; is the worker running? "
                        "(sandbox up runs one)")
        time.sleep(POLL_S)
    follower.poll()  # events written with the last transition, deliveries since
    hint = NEXT_STEP.get(status, "").replace("{id}", payout["id"])
    _say(f"ended {status}" + (f"; {hint}" if hint else ""))
    return 0


def main(url: str, key: str, scenario: str | None, amount: str, timeout: float) -> int:
    """The command; what the sandbox refuses, and a sandbox out of reach, are left to the
    caller (`sandbox.cli` makes each one line on stderr)."""
    with api_client(url, key) as client:
        if scenario is None:
            return list_scenarios(client)
        return trigger(client, scenario, amount, timeout)
