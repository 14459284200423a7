"""What an integrator's suite looks like with the plugin: every scenario walked on a
manual test clock, one advance per step of the scenario table, every status asserted as
it is reached and at its exact clock time, every webhook verified by the receiver
(standardwebhooks) and stamped with that same time. The plugin tests run it with pytester."""

from datetime import datetime, timedelta

import pytest

pytestmark = pytest.mark.mypay_clock("manual")


def at(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def walk(merchant, webhooks, payout, steps, start):
    """Advance the clock by each step's delay (from the scenario table) and check the payout
    reached the step's status at exactly that clock time, with its webhook. Returns the time."""
    when = start
    for step in steps:
        when += timedelta(seconds=step["after_s"])
        moved = merchant.advance(seconds=step["after_s"])
        assert at(moved["time"]) == when
        now = merchant.get_payout(payout["id"])
        assert now["status"] == step["status"]
        last = now["status_history"][-1]
        if [t for t in moved["transitions"] if t["payout_id"] == payout["id"]]:
            assert (last["status"], at(last["at"])) == (step["status"], when)
            # A payout may pass a status twice (retries): the event of this visit is the one at this time.
            event = webhooks.wait_for(f"payout.{step['status']}", payout["id"],
                                      where=lambda e, when=when: at(e["timestamp"]) == when)
            assert at(event["data"]["updated_at"]) == when
        else:  # a step that only submits to the bank: no new status
            assert now["psp_reference"]
    return when


@pytest.mark.parametrize("scenario", ["success", "retry_then_success", "failed_account_closed",
                                      "success_then_returned", "rail_timeout", "failed_title_mismatch",
                                      "failed_account_frozen", "failed_account_dormant",
                                      "bank_offline_then_success", "returned_title_mismatch"])
def test_scenario_runs_its_path(scenario, mypay_sandbox, mypay_merchant, mypay_webhooks):
    assert mypay_merchant.clock()["kind"] == "manual"
    payout = mypay_merchant.payout(scenario)
    start = at(payout["created_at"])
    assert at(mypay_merchant.clock()["time"]) == start
    walk(mypay_merchant, mypay_webhooks, payout, mypay_sandbox.scenario(scenario)["steps"], start)
    done = mypay_merchant.get_payout(payout["id"])
    assert [h["status"] for h in done["status_history"]] == mypay_sandbox.scenario(scenario)["path"]
    # A failure or a return carries its reason: the code and its catalogue entry.
    reason = mypay_sandbox.scenario(scenario).get("failure_code")
    assert done["failure_code"] == reason
    assert (done["failure"] or {}).get("code") == reason
    assert mypay_merchant.advance(until="idle")["transitions"] == []
    assert at(mypay_webhooks.wait_for("payout.created", payout["id"])["timestamp"]) == start


def test_awaiting_ipn_waits_for_the_bank(mypay_sandbox, mypay_merchant, mypay_webhooks):
    payout = mypay_merchant.payout("awaiting_ipn")
    assert payout["scenario"] == "awaiting_ipn"
    when = walk(mypay_merchant, mypay_webhooks, payout, mypay_sandbox.scenario("awaiting_ipn")["steps"],
                at(payout["created_at"]))
    idle = mypay_merchant.advance(until="idle")  # the bank has not answered: nothing is due
    assert idle["idle"] and idle["transitions"] == [] and at(idle["time"]) == when
    r = mypay_merchant.client.post(f"/sandbox/payouts/{payout['id']}/simulate", json={"status": "success"})
    assert r.status_code == 202
    paid = mypay_merchant.wait_for_status(payout["id"], "success")  # the rail's callback arrives in real time
    assert at(paid["status_history"][-1]["at"]) == when  # at the clock's time
    mypay_webhooks.wait_for("payout.success", payout["id"])


def test_on_hold_is_released_by_an_operator(mypay_sandbox, mypay_merchant, mypay_webhooks):
    scenario = mypay_sandbox.scenario("on_hold")
    payout = mypay_merchant.payout("on_hold")
    held_at = walk(mypay_merchant, mypay_webhooks, payout, scenario["steps"], at(payout["created_at"]))
    assert mypay_merchant.advance(until="idle")["transitions"] == []  # waits for an operator
    released = mypay_sandbox.admin.post(f"/admin/payouts/{payout['id']}/release", json={})
    assert released.status_code == 200
    first, *rest = scenario["after_release"]
    # The clock stands still at the hold: the release's move shows 1 ms after it.
    assert (released.json()["status"], at(released.json()["updated_at"])) == \
        (first["status"], held_at + timedelta(milliseconds=1))
    walk(mypay_merchant, mypay_webhooks, payout, rest, held_at)
    paid = mypay_merchant.get_payout(payout["id"])
    assert [h["status"] for h in paid["status_history"]] == ["pending", "on_hold", "processing", "success"]
