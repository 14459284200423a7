"""POST /api/v1/sandbox/pact/states: Pact's provider-state protocol. Every state makes
what it names in a fresh merchant and answers the values a pact injects; a payout stands
at exactly the status asked for, reached by walking its scenario on a manual clock."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from sandbox.client.blocking import tls
from tests.helpers import Api
from tests.pact.conftest import raw_post

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


async def test_an_approve_with_a_fixed_key_reruns_against_fresh_states(pact, stack):
    """A pact's approve interaction sends the same idempotency key every verification: an
    admin's keys are kept per merchant, and each run's state is a fresh merchant."""
    for _ in range(2):
        values = await setup(pact, "a payout in review")
        async with Api(stack.base_url, values["adminKey"]) as admin:
            r = await admin.post(f"/admin/payouts/{values['payoutId']}/approve", {"reason": "pact"},
                                 idem="pact-approve-1")
        assert r.status_code == 200 and r.json()["status"] == "pending", r.text
    # Within one merchant the key still means one approval: another payout of it is a 422.
    async with Api(stack.base_url, values["apiKey"]) as api:
        other = (await api.post("/payouts", {"amount": "150000.00", "currency": "PKR", "destination": {
            "type": "bank", "bank_code": "HBL", "account_number": "12345678900001", "account_title": "A"}})).json()
    async with Api(stack.base_url, values["adminKey"]) as admin:
        again = await admin.post(f"/admin/payouts/{other['id']}/approve", {"reason": "pact"},
                                 idem="pact-approve-1")
    assert again.status_code == 422 and again.json()["code"] == "idempotency_key_reused", again.text


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


async def _counts() -> tuple[int, int, int]:
    from sandbox import db

    return (await db.fetchval("SELECT count(*) FROM merchant"), await db.fetchval("SELECT count(*) FROM payout"),
            await db.fetchval("SELECT count(*) FROM webhook_endpoint"))


@pytest.mark.parametrize(("state", "params", "named"), [
    ("a payout", {"amount": "2000.00", "balance": "1000.00"}, "params.balance"),
    ("a payout in review", {"balance": "5000.00"}, "params.balance"),
    ("a payout in review", {"amount": "99.00"}, "params.amount"),
    ("a payout", {"scenario": {"name": "success", "title": "Mine", "steps": [
        {"status": "processing", "submit": True}, {"status": "success"}]}}, "params.scenario.name"),
    ("a payout", {"scenario": {"name": "mine", "suffix": "0003", "title": "Mine", "steps": [
        {"status": "processing", "submit": True}, {"status": "success"}]}}, "params.scenario.suffix"),
    ("a batch", {"rows": {"success": 0}}, "params.rows.success"),
    ("a batch", {"rows": {"nope": 1}}, "params.rows.nope"),
    ("a batch", {"rows": []}, "params.rows"),
    ("a batch", {"rows": {}}, "params.rows"),
    ("a batch", {"rows": {"success": 1000000}}, "params.rows"),
    ("a batch", {"rows": {"success": 700}, "balance": "1000.00"}, "params.balance"),
    ("a merchant", {"balance": "-5"}, "params.balance"),
    ("a webhook endpoint", {"url": "https://user:pw@receiver.example/hook"}, "params.url"),
    ("a webhook endpoint", {"events": ["payout.exploded"]}, "params.events"),
])
async def test_every_refusal_names_its_param_and_leaves_nothing(pact, database, state, params, named):
    """Checked before anything is made: a 400 naming the param, and no merchant, payout or
    endpoint left behind (a million batch rows are refused on their count, unbuilt)."""
    before = await _counts()
    for action in ("check", "setup"):
        r = await pact.post(STATES, json={"state": state, "params": params, "action": action})
        assert r.status_code == 400, r.text
        problem = r.json()
        assert problem["errors"][0]["field"].startswith(named) and named in problem["detail"], problem
        assert f"{state!r}" in problem["detail"] and "Known states" in problem["detail"]
    assert await _counts() == before


async def test_a_check_makes_nothing(pact, database):
    before = await _counts()
    r = await pact.post(STATES, json={"state": "a payout", "params": {"status": "processing"}, "action": "check"})
    assert (r.status_code, r.json()) == (200, {})
    assert await _counts() == before


@pytest.mark.parametrize("path", [STATES, "/api/v1/sandbox/pact/messages"])
async def test_the_pact_routes_take_json_only(pact, database, path):
    before = await _counts()
    status, _, problem = await raw_post(pact, path, content='{"state": "a merchant", "description": '
                                        '"a payout.created webhook"}', headers={"Content-Type": "text/plain"})
    assert status == 415 and problem["code"] == "unsupported_media_type", problem
    assert await _counts() == before


async def test_teardown_twice_answers_the_same(pact):
    for _ in range(2):
        r = await pact.post(STATES, json={"state": "a payout", "params": {"status": "failed"}, "action": "teardown"})
        assert (r.status_code, r.json()) == (200, {})


async def test_the_admin_key_is_needed(stack, merchant):
    async with httpx.AsyncClient(verify=tls(), base_url=stack.base_url) as c:
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


@pytest.mark.parametrize("action", ["check", "setup"])
async def test_an_empty_status_is_no_end_of_the_path(pact, database, action):
    """`"status": ""` is a wrong status, not "where the scenario ends" (which is the param
    left out): refused in words, nothing made."""
    from sandbox import db

    merchants = await db.fetchval("SELECT count(*) FROM merchant")
    r = await pact.post(STATES, json={"state": "a payout", "params": {"status": ""}, "action": action})
    assert r.status_code == 400, r.text
    assert r.json()["errors"][0]["field"] == "params.status" and "leave it out" in r.json()["detail"], r.text
    assert await db.fetchval("SELECT count(*) FROM merchant") == merchants


@pytest.mark.parametrize("action", ["check", "setup", "teardown"])
async def test_a_state_with_no_name_takes_no_params(pact, action):
    """Pact's own setup before an interaction with no state sends the name "" and no params
    (answered `{}`); a state named "" that carries params asks for something by no name."""
    assert (await pact.post(STATES, json={"state": "", "action": action})).json() == {}
    r = await pact.post(STATES, json={"state": "", "params": {"scenario": "failed_account_closed"}, "action": action})
    assert r.status_code == 400, r.text
    assert r.json()["errors"][0]["field"] == "state" and "no name" in r.json()["detail"], r.text


@pytest.mark.parametrize(("state", "param"), [
    ("a payout", "scenario"), ("a payout", "status"), ("a payout", "amount"), ("a payout", "balance"),
    ("a payout in review", "amount"), ("a payout in review", "balance"), ("a merchant", "balance"),
    ("a webhook endpoint", "url"), ("a webhook endpoint", "signing"),
])
async def test_an_empty_param_never_means_its_default(pact, state, param):
    """The class of `"status": ""`: a param given empty is refused by name; its default is
    the param left out."""
    r = await pact.post(STATES, json={"state": state, "params": {param: ""}, "action": "check"})
    assert r.status_code == 400, r.text
    assert r.json()["errors"][0]["field"] == f"params.{param}", r.text
