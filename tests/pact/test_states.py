"""POST /api/v1/sandbox/pact/states: Pact's provider-state protocol. Every state makes
what it names in a fresh merchant and answers the values a pact injects; a payout stands
at exactly the status asked for, reached by walking its scenario on a manual clock."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.helpers import Api

STATES = "/api/v1/sandbox/pact/states"


async def setup(pact, state: str, **params) -> dict:
    r = await pact.post(STATES, json={"state": state, "params": params, "action": "setup"})
    assert r.status_code == 200, r.text
    return r.json()


async def test_a_merchant_is_fresh_with_its_balance(pact, stack):
    values = await setup(pact, "a merchant", balance="2500.00")
    async with Api(stack.base_url, values["apiKey"]) as api:
        balance = (await api.get("/balance")).json()
    assert balance["available"] == "2500.00"
    other = await setup(pact, "a merchant")
    assert other["merchantId"] != values["merchantId"] and other["apiKey"] != values["apiKey"]


@pytest.mark.parametrize(("scenario", "status", "history"), [
    ("failed_account_closed", "failed", ["pending", "processing", "failed"]),
    ("failed_account_closed", "processing", ["pending", "processing"]),
    ("retry_then_success", "retrying", ["pending", "processing", "retrying"]),
    ("on_hold", "success", ["pending", "on_hold", "processing", "success"]),
    ("success", "pending", ["pending"]),
])
async def test_a_payout_stands_at_exactly_the_status_asked(pact, stack, scenario, status, history):
    values = await setup(pact, "a payout", scenario=scenario, status=status, amount="700.00")
    async with Api(stack.base_url, values["apiKey"]) as api:
        payout = (await api.get(f"/payouts/{values['payoutId']}")).json()
        clock = (await api.get("/sandbox/clock")).json()
    assert payout["status"] == status and payout["scenario"] == scenario and payout["amount"] == "700.00"
    assert [h["status"] for h in payout["status_history"]] == history
    assert clock["kind"] == "manual"  # nothing moves it on behind the interaction's back
    if status == "failed":
        assert payout["failure_code"] == "account_closed"


async def test_a_payout_on_the_merchants_own_scenario(pact, stack):
    own = {"name": "pact_slow_fail", "title": "Slow failure", "steps": [
        {"status": "processing", "after_s": 5, "submit": True},
        {"status": "failed", "after_s": 60, "failure_code": "account_frozen"}]}
    values = await setup(pact, "a payout", scenario=own, status="failed")
    async with Api(stack.base_url, values["apiKey"]) as api:
        payout = (await api.get(f"/payouts/{values['payoutId']}")).json()
    assert (payout["scenario"], payout["status"], payout["failure_code"]) == \
        ("pact_slow_fail", "failed", "account_frozen")


async def test_a_payout_in_review_waits_for_the_admin(pact, stack):
    values = await setup(pact, "a payout in review")
    assert values["adminKey"] == stack.admin_key
    async with Api(stack.base_url, values["apiKey"]) as api:
        payout = (await api.get(f"/payouts/{values['payoutId']}")).json()
    assert payout["status"] == "in_review" and payout["amount"] == "100000.00"
    async with Api(stack.base_url, values["adminKey"]) as admin:
        r = await admin.post(f"/admin/payouts/{values['payoutId']}/approve", {"reason": "pact"})
    assert r.status_code == 200 and r.json()["status"] == "pending", r.text


async def test_a_webhook_endpoint_with_its_secret(pact, stack):
    values = await setup(pact, "a webhook endpoint", url="https://receiver.example/hooks", events=["payout.*"])
    assert values["secret"].startswith("whsec_")
    async with Api(stack.base_url, values["apiKey"]) as api:
        endpoint = (await api.get(f"/webhook-endpoints/{values['endpointId']}")).json()
    assert endpoint["url"] == "https://receiver.example/hooks" and endpoint["events"] == ["payout.*"]


async def test_a_batch_by_count_of_scenarios(pact, stack):
    values = await setup(pact, "a batch", rows={"success": 2, "failed_account_closed": 1})
    async with Api(stack.base_url, values["apiKey"]) as api:
        r = await api.get(f"/payout-batches/{values['batchId']}")
    assert r.status_code == 200 and r.json()["total_items"] == 3, r.text


async def test_an_unknown_state_names_the_known_ones(pact):
    r = await pact.post(STATES, json={"state": "a refund", "params": {}, "action": "setup"})
    assert r.status_code == 400 and r.headers["content-type"].startswith("application/problem+json")
    detail = r.json()["detail"]
    assert "'a refund'" in detail and all(s in detail for s in ("'a merchant'", "'a payout'", "'a batch'"))


@pytest.mark.parametrize(("params", "named"), [
    ({"scenario": "no_such_scenario"}, "params.scenario"),
    ({"scenario": "failed_account_closed", "status": "success"}, "params.status"),
    ({"amount": 12}, "params.amount"),
    ({"colour": "red"}, "params.colour"),
    ({"scenario": {"name": "mine", "title": "Mine", "steps": [{"status": "processing", "submit": True},
                                                            {"status": "success"}]}, "status": "failed"},
     "params.status"),
    ({"scenario": {"name": "mine", "title": "Mine", "steps": [{"status": "success"}]}}, "params.scenario.steps[0]"),
])
async def test_bad_params_name_the_param_at_fault_and_make_nothing(pact, database, params, named):
    from sandbox import db

    merchants = await db.fetchval("SELECT count(*) FROM merchant")
    r = await pact.post(STATES, json={"state": "a payout", "params": params, "action": "setup"})
    assert r.status_code == 400, r.text
    problem = r.json()
    assert problem["errors"][0]["field"] == named and named in problem["detail"], problem
    assert "Known states" in problem["detail"]
    assert await db.fetchval("SELECT count(*) FROM merchant") == merchants


async def test_teardown_twice_answers_the_same(pact):
    for _ in range(2):
        r = await pact.post(STATES, json={"state": "a payout", "params": {"status": "failed"}, "action": "teardown"})
        assert (r.status_code, r.json()) == (200, {})


async def test_the_admin_key_is_needed(stack, merchant):
    async with httpx.AsyncClient(base_url=stack.base_url) as c:
        anonymous = await c.post(STATES, json={"state": "a merchant"})
        as_merchant = await c.post(STATES, json={"state": "a merchant"}, headers={"X-Sandbox-Admin-Key": merchant.key})
    assert anonymous.status_code == 401 and as_merchant.status_code == 403


async def test_two_verifications_at_once_get_their_own_payouts(pact, stack):
    one, two = await asyncio.gather(*(setup(pact, "a payout", scenario="failed_account_closed", status="failed")
                                      for _ in range(2)))
    assert one["merchantId"] != two["merchantId"] and one["payoutId"] != two["payoutId"]
    for values in (one, two):
        async with Api(stack.base_url, values["apiKey"]) as api:
            assert (await api.get(f"/payouts/{values['payoutId']}")).json()["status"] == "failed"
