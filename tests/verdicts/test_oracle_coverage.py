"""Coverage: the verdict and an oracle of its own agree on every generated history.

What each test drives:
- `test_the_judge_agrees_with_the_oracle_on_generated_walks`: SANDBOX_ORACLE_EXAMPLES
  histories (500 in the full suite, 60 in the fast lane) of one to four payouts, each over
  any built-in scenario: some of its own steps, then maybe a `simulate` the rail may report
  then (any outcome, any failure code or none), then maybe a reinitiation and a second walk.
  They become the events and rail notifications the sandbox keeps, in memory; the judge
  (`coverage.paths.judge_walks`, then `verdicts.judge.coverage` over every scenario) and the
  oracle (tests/verdicts/oracles.py, from the events, the `sim_…` notifications and
  seeds/scenarios.json) read them. No database.
- `test_the_api_agrees_with_the_oracle_in_the_database`: a few histories (a twentieth as
  many, at least 4) made in the database through the service layer: payouts by the API on
  a manual clock, the clock advanced to a drawn second, rail outcomes applied by the IPN's
  own engine call (`engine.on_rail_notification`, a `sim_…` notification as simulate sends);
  GET /sandbox/coverage and POST /sandbox/gate must say what the oracle says from the
  rows (outbox_event, ipn_notification, payout)."""

from __future__ import annotations

import os
import secrets

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sandbox.coverage import paths
from sandbox.payouts.model import failures, scenarios, states
from sandbox.verdicts import judge
from tests.clocks.test_clocks import manual_merchant
from tests.helpers import payout_body
from tests.verdicts import oracles

EXAMPLES = int(os.environ["SANDBOX_ORACLE_EXAMPLES"])
TABLE = scenarios.table()
NAMES = [s["name"] for s in oracles.SCENARIOS]
CODES = [None, "account_closed", "incorrect_account_holder_name", "beneficiary_deceased", "rail_timeout"]

# One payout: its scenario; how many own steps, a simulate (outcome index, code) or none, then
# a reinitiation (if it failed) with as many steps and a simulate of its own.
WALK = st.tuples(st.integers(0, 5), st.one_of(st.none(), st.tuples(st.integers(0, 2), st.sampled_from(CODES),
                                                                    st.sampled_from(["sim_", "hand_"]))))
PAYOUT = st.tuples(st.sampled_from(NAMES), WALK, st.booleans(), WALK)
HISTORY = st.lists(PAYOUT, min_size=1, max_size=4)


class Walk:
    """One payout moved as the planner moves it, its events and rail notifications kept."""

    def __init__(self, payout_id: str, scenario: scenarios.Scenario) -> None:
        self.id, self.scenario = payout_id, scenario
        self.status, self.code, self.psp = "pending", None, None
        self.events = [self._event()]
        self.notifications: list[dict] = []

    def _event(self) -> dict:
        return {"payout_id": self.id, "scenario": self.scenario.name, "status": self.status,
                "failure_code": self.code, "psp_reference": self.psp}

    def walk(self, steps: int, simulate: tuple[int, str | None, str] | None) -> None:
        """`steps` of the scenario's own, then the rail made to report an outcome (by
        simulate, `sim_…`, or a callback signed by hand, any other id), if it may."""
        for index, step in enumerate(self.scenario.steps[:steps]):
            if step.submit:
                self.psp = "RAIL" + secrets.token_hex(6)
            if step.status == self.status:  # a submit that waits: no status change, no event
                continue
            self.status = step.status
            self.code = step.failure_code or failures.default_for(step.status) or self.code
            self.events.append(self._event())
            if step.via == "ipn":
                self.notifications.append({"id": f"{self.id}:main:{index}", "psp_reference": self.psp,
                                           "status": self.status})
        if simulate is not None and self.psp is not None:
            outcomes = states.outcomes_for(self.status)
            if outcomes:
                outcome = outcomes[simulate[0] % len(outcomes)]
                self.status = outcome
                self.code = (simulate[1] or failures.default_for(outcome)) if failures.default_for(outcome) \
                    else self.code
                self.events.append(self._event())
                self.notifications.append({"id": simulate[2] + secrets.token_hex(4), "psp_reference": self.psp,
                                           "status": outcome})

    def reinitiate(self) -> bool:
        if self.status != "failed":
            return False
        self.status, self.code, self.psp = "pending", None, None
        self.events.append(self._event())
        return True


def walks_as_coverage_reads_them(events: list[dict], notifications: list[dict], rows: dict[str, dict]) -> list[dict]:
    """The rows coverage's SQL makes of the events: per payout and scenario, the statuses,
    codes and whether a notification not of the payout's own steps made each; submitted if
    any event or the row shows a psp_reference."""
    forced = {(n["psp_reference"], n["status"]) for n in notifications if not n["id"].startswith("po_")}
    walks: dict[tuple[str, str], dict] = {}
    for e in events:
        w = walks.setdefault((e["payout_id"], e["scenario"]), {"scenario": e["scenario"], "submitted": False,
                                                               "statuses": [], "codes": [], "simulated": [], "n": 1})
        w["statuses"].append(e["status"])
        w["codes"].append(e["failure_code"])
        w["simulated"].append((e["psp_reference"], e["status"]) in forced)
        w["submitted"] = w["submitted"] or e["psp_reference"] is not None
    for (payout_id, _), w in walks.items():
        w["submitted"] = w["submitted"] or rows[payout_id]["psp_reference"] is not None
    return list(walks.values())


def coverage_answer(walked: paths.Walked) -> dict:
    """The coverage answer's scenario part, as the gate's judge reads it."""
    return {"merchant_id": "mch_x", "operator_paths": [],
            "scenarios": [{"name": n, "payouts": walked.followed[n], "reached_end": walked.ended[n],
                           "stopped_at": sorted(walked.stopped[n]), "simulated_to": sorted(walked.forced[n])}
                          for n in NAMES],
            "scenarios_reached": [n for n in NAMES if walked.ended[n]]}


def assert_agree(answer: dict, oracle: oracles.CoverageOracle) -> None:
    assert set(answer["scenarios_reached"]) == oracle.reached
    by_name = {s["name"]: s for s in answer["scenarios"]}
    assert {n: s["payouts"] for n, s in by_name.items() if s["payouts"]} == oracle.payouts
    assert {n: set(s["simulated_to"]) for n, s in by_name.items() if s["simulated_to"]} == oracle.simulated_to
    for name in NAMES:  # the gate asked for each scenario alone, and for all of them
        finding = judge.coverage(name, NAMES, [answer])
        assert finding.held is (name in oracle.reached), finding.said
        if name in oracle.simulated_to and name not in oracle.reached:
            assert "simulated to `" in finding.said
    assert judge.coverage("all", NAMES, [answer]).held is (oracle.reached == set(NAMES))


@settings(max_examples=EXAMPLES, deadline=None)
@given(history=HISTORY)
def test_the_judge_agrees_with_the_oracle_on_generated_walks(history):
    events, notifications, rows = [], [], {}
    for n, (name, first, again, second) in enumerate(history):
        walk = Walk(f"po_{n}", TABLE.by_name(name))
        walk.walk(*first)
        if again and walk.reinitiate():
            walk.walk(*second)
        events += walk.events
        notifications += walk.notifications
        rows[walk.id] = {"scenario": name, "psp_reference": walk.psp}
    walked = paths.judge_walks(walks_as_coverage_reads_them(events, notifications, rows),
                               lambda w: TABLE.named(w["scenario"]))
    assert_agree(coverage_answer(walked), oracles.coverage(events, notifications, rows))


# -- in the database ------------------------------------------------------------------

DB_PAYOUT = st.tuples(st.sampled_from(NAMES), st.integers(0, 40), st.one_of(
    st.none(), st.tuples(st.integers(0, 2), st.sampled_from(CODES), st.sampled_from(["sim_", "hand_"]))),
    st.integers(0, 40))


async def raw_rows(merchant_id: str) -> tuple[list[dict], list[dict], dict[str, dict]]:
    from sandbox import db

    events = [{**msgspec.json.decode(r["data"]) , "payout_id": r["payout_id"]} for r in await db.fetch(
        "SELECT payout_id, data::text AS data FROM outbox_event WHERE merchant = $1 AND payout_id IS NOT NULL"
        " AND type LIKE 'payout.%' ORDER BY number", merchant_id)]
    notifications = [dict(r) for r in await db.fetch(
        "SELECT n.id, n.psp_reference, n.status FROM ipn_notification n JOIN payout p"
        " ON p.psp_reference = n.psp_reference WHERE p.merchant = $1", merchant_id)]
    rows = {r["id"]: dict(r) for r in await db.fetch(
        "SELECT id, scenario, psp_reference FROM payout WHERE merchant = $1", merchant_id)}
    return events, notifications, rows


@settings(max_examples=max(4, EXAMPLES // 20), deadline=None, suppress_health_check=list(HealthCheck))
@given(history=st.lists(DB_PAYOUT, min_size=1, max_size=3))
async def test_the_api_agrees_with_the_oracle_in_the_database(stack, history):
    from sandbox import db
    from sandbox.core.errors import ApiError
    from sandbox.payouts.lifecycle import engine
    from sandbox.rail.messages import Notification

    api = await manual_merchant(stack)
    try:
        merchant_id = (await api.get("/sandbox/coverage")).json()["merchant_id"]
        made = []
        for name, _, _, _ in history:
            suffix = TABLE.by_name(name).suffix
            r = await api.post("/payouts", payout_body(account="1234567890" + str(suffix)))
            assert r.status_code == 201, r.text
            made.append(r.json()["id"])
        for payout_id, (_, seconds, simulate, later) in zip(made, history, strict=True):
            assert (await api.post("/sandbox/clock/advance", {"seconds": seconds})).status_code == 200
            payout = (await api.get(f"/payouts/{payout_id}")).json()
            if simulate is not None and payout["psp_reference"] and (outcomes := states.outcomes_for(payout["status"])):
                outcome = outcomes[simulate[0] % len(outcomes)]
                try:
                    async with db.transaction():
                        await engine.on_rail_notification(Notification(
                            payout["psp_reference"], simulate[2] + secrets.token_hex(8), outcome, simulate[1]))
                except ApiError:
                    pass
            assert (await api.post("/sandbox/clock/advance", {"seconds": later})).status_code == 200
        oracle = oracles.coverage(*await raw_rows(merchant_id))
        answer = (await api.get("/sandbox/coverage")).json()
        assert_agree({**answer, "scenarios": [s for s in answer["scenarios"] if s["name"] in NAMES]}, oracle)
        # The gate over HTTP: what was reached holds; each scenario not reached falls short alone.
        if oracle.reached:
            gate = (await api.http.post("/sandbox/gate", json={"require_coverage": sorted(oracle.reached)})).json()
            assert gate["held"] is True, gate
        for name in sorted(set(oracle.payouts) - oracle.reached):
            gate = (await api.http.post("/sandbox/gate", json={"require_coverage": [name]})).json()
            assert gate["held"] is False, gate
    finally:
        await api.aclose()
