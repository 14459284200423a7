"""What an integrator's suite looks like with the plugin: every scenario walked, every
status it passes through asserted from the payout's history, every webhook verified by
the receiver (standardwebhooks). The plugin tests run it with pytester."""

import pytest


@pytest.mark.parametrize("scenario", ["success", "retry_then_success", "failed_account_closed",
                                      "success_then_returned", "rail_timeout"])
def test_scenario_runs_its_path(scenario, mypay_sandbox, mypay_merchant, mypay_webhooks, mypay_wait_for_status):
    path = mypay_sandbox.scenario(scenario)["path"]
    payout = mypay_merchant.payout(scenario)
    done = mypay_wait_for_status(payout["id"], path[-1])
    assert [h["status"] for h in done["status_history"]] == path
    for status in path[1:]:
        mypay_webhooks.wait_for(f"payout.{status}", payout["id"])
    assert mypay_webhooks.types(payout["id"])[0] == "payout.created"


def test_awaiting_ipn_waits_for_the_bank(mypay_merchant, mypay_webhooks, mypay_account_number):
    body = {"amount": "250.00", "currency": "PKR", "destination": {
        "type": "bank", "bank_code": "HBL", "account_number": mypay_account_number("awaiting_ipn"),
        "account_title": "Ali Raza"}}
    payout = mypay_merchant.client.post("/payouts", json=body).json()
    assert payout["scenario"] == "awaiting_ipn"
    submitted = mypay_merchant.wait_until(payout["id"], lambda p: p["psp_reference"], what="reach the rail")
    assert submitted["status"] == "pending"
    r = mypay_merchant.client.post(f"/sandbox/payouts/{payout['id']}/simulate", json={"status": "success"})
    assert r.status_code == 202
    mypay_webhooks.wait_for("payout.success", payout["id"])


def test_on_hold_is_released_by_an_operator(mypay_sandbox, mypay_merchant, mypay_webhooks):
    payout = mypay_merchant.payout("on_hold")
    mypay_merchant.wait_for_status(payout["id"], "on_hold")
    assert mypay_sandbox.admin.post(f"/admin/payouts/{payout['id']}/release", json={}).status_code == 200
    paid = mypay_merchant.wait_for_status(payout["id"], "success")
    assert [h["status"] for h in paid["status_history"]] == ["pending", "on_hold", "processing", "success"]
    mypay_webhooks.wait_for("payout.on_hold", payout["id"])
    mypay_webhooks.wait_for("payout.success", payout["id"])
