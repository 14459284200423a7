"""An admin's release follows the scenario as GET /sandbox/scenarios serves it: on a
manual clock each after-release step lands exactly at the time the served table gives,
counted from the release; a table whose first after-release step asks for a delay the
release cannot keep is refused."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.clocks.test_clocks import advance, at, manual_merchant, scenario_steps
from tests.helpers import payout_body


@pytest.fixture
async def clocked(stack):
    api = await manual_merchant(stack)
    yield api
    await api.aclose()


async def test_release_walks_the_served_after_release_steps_at_their_times(clocked, admin):
    scenario = await scenario_steps(clocked, "on_hold")
    created = (await clocked.post("/payouts", payout_body(account="12345678900005"))).json()
    [hold] = scenario["steps"]
    moved = await advance(clocked, seconds=hold["after_s"])
    held_at = at(created["created_at"]) + timedelta(seconds=hold["after_s"])
    assert [(t["to"], at(t["at"])) for t in moved["transitions"]] == [("on_hold", held_at)]
    # The operator decides ten seconds later: the release's steps count from then.
    when = at((await advance(clocked, seconds=10))["time"])
    assert when == held_at + timedelta(seconds=10)
    first, *rest = scenario["after_release"]
    released = await admin.post(f"/admin/payouts/{created['id']}/release", {"reason": "kyc ok"})
    assert released.status_code == 200, released.text
    when += timedelta(seconds=first["after_s"])
    assert (released.json()["status"], at(released.json()["status_history"][-1]["at"])) == (first["status"], when)
    for step in rest:
        when += timedelta(seconds=step["after_s"])
        moved = await advance(clocked, seconds=step["after_s"])
        assert [(t["to"], at(t["at"])) for t in moved["transitions"]] == [(step["status"], when)]
    paid = (await clocked.get(f"/payouts/{created['id']}")).json()
    assert [h["status"] for h in paid["status_history"]] == [
        "pending", "on_hold", *(s["status"] for s in scenario["after_release"])]
    assert paid["status_history"][2]["reason"] == "kyc ok"  # the release's own move carries its reason


async def test_a_delay_before_the_release_s_own_move_is_refused(merchant):
    r = await merchant.post("/sandbox/scenarios", {
        "name": "held_then_slow", "title": "Held, then slow", "steps": [{"status": "on_hold", "after_s": 1}],
        "after_release": [{"status": "processing", "after_s": 1, "submit": True}, {"status": "success", "after_s": 2}]})
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["code"] == "impossible_timeline"
    assert problem["errors"][0]["field"] == "after_release[0].after_s"
    assert "release makes the first after-release move itself, at once" in problem["errors"][0]["message"]
    names = {s["name"] for s in (await merchant.get("/sandbox/scenarios")).json()["scenarios"]}
    assert "held_then_slow" not in names
