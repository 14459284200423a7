"""Coverage says what happened: a job that pays one payout per scenario of the table and
lets its manual clock run holds `require_coverage: "all"` (no bank answer, no operator:
`awaiting_ipn`'s end is being submitted, `on_hold`'s the hold); a scenario a payout
started and did not finish reads "started, stopped at `<status>`", one no payout started
"never started", in the coverage answer, the gate's verdict (JSON and JUnit) and the
CLI's `sandbox coverage` and `sandbox gate`."""

from __future__ import annotations

import asyncio

import pytest
from junitparser import JUnitXml

from tests.clocks.test_clocks import advance, manual_merchant
from tests.helpers import payout_body


@pytest.fixture
async def clocked(stack):
    api = await manual_merchant(stack)
    yield api
    await api.aclose()


async def judged(api, body: dict, **headers: str):
    r = await api.http.post("/sandbox/gate", json=body, headers=headers)  # a verdict needs no idempotency key
    assert r.status_code == 200, r.text
    return r


async def test_a_job_walking_every_scenario_on_a_manual_clock_holds_all(clocked):
    table = (await clocked.get("/sandbox/scenarios")).json()["scenarios"]
    for scenario in table:
        r = await clocked.post("/payouts", payout_body(account="1234567890" + scenario["suffix"]))
        assert r.status_code == 201 and r.json()["scenario"] == scenario["name"], r.text
    assert (await advance(clocked, until="idle"))["idle"] is True
    coverage = (await clocked.get("/sandbox/coverage")).json()
    assert coverage["scenarios_reached"] == [s["name"] for s in table]
    assert all(s["stopped_at"] == [] for s in coverage["scenarios"])
    verdict = (await judged(clocked, {"require_coverage": "all"})).json()
    [requirement] = verdict["merchants"][0]["requirements"]
    assert verdict["held"] is True, requirement["reason"]
    assert requirement["reason"] == f"exercised all {len(table)} asked for: " + ", ".join(s["name"] for s in table)


async def test_awaiting_ipn_is_reached_once_submitted_without_a_bank_answer(clocked):
    payout = (await clocked.post("/payouts", payout_body(account="12345678900004"))).json()
    entry = await _entry(clocked, "awaiting_ipn")
    assert (entry["payouts"], entry["reached_end"], entry["stopped_at"]) == (1, 0, ["pending"])  # not submitted yet
    await advance(clocked, until="idle")
    assert (await clocked.get(f"/payouts/{payout['id']}")).json()["psp_reference"] is not None
    entry = await _entry(clocked, "awaiting_ipn")
    assert (entry["payouts"], entry["reached_end"], entry["stopped_at"]) == (1, 1, [])


async def _entry(api, name: str) -> dict:
    return next(s for s in (await api.get("/sandbox/coverage")).json()["scenarios"] if s["name"] == name)


async def test_a_started_scenario_says_where_it_stopped(stack, clocked, capsys, tmp_path):
    await clocked.post("/payouts", payout_body(account="12345678900002"))  # retry_then_success
    await advance(clocked, seconds=1)  # processing: its first attempt is at the rail
    await clocked.post("/payouts", payout_body(account="12345678900001"))  # success, still pending
    assert (await _entry(clocked, "retry_then_success"))["stopped_at"] == ["processing"]
    assert (await _entry(clocked, "success"))["stopped_at"] == ["pending"]
    assert (await _entry(clocked, "rail_timeout"))["stopped_at"] == []

    asked = ["retry_then_success", "success", "rail_timeout", "release"]
    said = ("4 of 4 asked for fell short: retry_then_success (started, stopped at `processing`), success "
            "(started, stopped at `pending`), rail_timeout (never started), release (never taken)")
    [requirement] = (await judged(clocked, {"require_coverage": asked})).json()["merchants"][0]["requirements"]
    assert (requirement["held"], requirement["reason"], requirement["missing"]) == (False, said, asked)
    junit = await judged(clocked, {"require_coverage": asked}, accept="application/xml")
    (tmp_path / "gate.xml").write_bytes(junit.content)
    [suite] = JUnitXml.fromfile(str(tmp_path / "gate.xml"))
    [case] = suite
    assert case.result[0].message == f"coverage: {said}"

    from sandbox.cli import main

    key = clocked.key
    assert await asyncio.to_thread(main, ["coverage", "--key", key, "--url", stack.base_url]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line.startswith("  ")}
    assert " ".join(rows["retry_then_success"].split()) == "retry_then_success started, stopped at `processing` 1 0"
    assert rows["rail_timeout"].split()[1:3] == ["never", "started"]
    assert rows["release"].split()[1:3] == ["never", "taken"]
    code = await asyncio.to_thread(main, ["gate", "--key", key, "--url", stack.base_url,
                                          "--require-coverage", ",".join(asked)])
    assert code == 1
    assert f"  FELL SHORT  coverage: {said}" in capsys.readouterr().out
