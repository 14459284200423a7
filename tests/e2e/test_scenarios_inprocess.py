"""Scenario engine with the worker and IPN in the test process (fast feedback)."""

import pytest

from sandbox.ledger.service import check_invariant
from tests.helpers import balance, payout_body, reaches, wait_for

FINAL = {"success", "failed", "rejected", "cancelled", "returned"}


async def settled(api, payout_id, status):
    async def check():
        p = (await api.get(f"/payouts/{payout_id}")).json()
        return p if p["status"] == status and p.get("psp_reference") is not None or (p["status"] == status
                                                                                       and status in FINAL) else None
    return await wait_for(check, what=f"{payout_id} to be {status}")


@pytest.mark.parametrize("suffix, final, path, attempts, failure", [
    ("0001", "success", ["pending", "processing", "success"], 1, None),
    ("0002", "success", ["pending", "processing", "retrying", "processing", "success"], 2, None),
    ("0003", "failed", ["pending", "processing", "failed"], 1, "account_closed"),
    ("0007", "failed", ["pending", "processing", "retrying", "processing", "retrying", "processing", "failed"], 3,
     "rail_timeout"),
])
async def test_worker_scenarios(merchant, worker, suffix, final, path, attempts, failure):
    p = (await merchant.post("/payouts", payout_body(account="1234567890" + suffix))).json()
    done = await settled(merchant, p["id"], final)
    assert [h["status"] for h in done["status_history"]] == path
    assert done["attempts"] == attempts and done["failure_code"] == failure
    assert done["psp_reference"]
    assert await check_invariant(merchant.merchant_id) == []


async def get(api, payout_id):
    return (await api.get(f"/payouts/{payout_id}")).json()


async def test_awaiting_ipn_then_simulated_success(merchant, worker):
    p = (await merchant.post("/payouts", payout_body(account="12345678900004"))).json()
    submitted = await wait_for(lambda: _with_psp(merchant, p["id"]), what="submission")
    assert submitted["status"] == "pending"
    r = await merchant.post(f"/sandbox/payouts/{p['id']}/simulate", {"status": "success"})
    assert r.status_code == 202, r.text
    done = await reaches(merchant, p["id"], "success")
    assert [h["status"] for h in done["status_history"]] == ["pending", "success"]
    assert (await balance(merchant))["locked"] == "0.00"
    assert await check_invariant(merchant.merchant_id) == []


async def _with_psp(api, payout_id):
    p = await get(api, payout_id)
    return p if p["psp_reference"] else None


async def test_awaiting_ipn_then_simulated_failure_and_reinitiate(merchant, worker):
    p = (await merchant.post("/payouts", payout_body(amount="300.00", account="12345678900004"))).json()
    await wait_for(lambda: _with_psp(merchant, p["id"]), what="submission")
    await merchant.post(f"/sandbox/payouts/{p['id']}/simulate", {"status": "failed", "failure_code": "invalid_account"})
    failed = await reaches(merchant, p["id"], "failed")
    assert failed["failure_code"] == "invalid_account"
    assert (await balance(merchant))["available"] == "1000000.00"
    r = await merchant.post(f"/payouts/{p['id']}/reinitiate", {"destination": {
        "type": "bank", "bank_code": "UBL", "account_number": "98765432100001"}})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "pending" and r.json()["scenario"] == "success"
    assert r.json()["failure_code"] is None and r.json()["psp_reference"] is None
    done = await reaches(merchant, p["id"], "success")
    assert [h["status"] for h in done["status_history"]] == ["pending", "failed", "pending", "processing", "success"]
    assert (await balance(merchant))["available"] == "999700.00"
    again = await merchant.post(f"/payouts/{p['id']}/reinitiate", {})
    assert again.status_code == 409 and again.json()["code"] == "invalid_state"
    assert await check_invariant(merchant.merchant_id) == []


async def test_a_reinitiation_the_balance_cannot_fund_changes_nothing(merchant, worker):
    """The reinitiation's rows, event and posting are one statement (`many.write_steps`):
    a posting the ledger refuses takes the row and the event back with it."""
    p = (await merchant.post("/payouts", payout_body(amount="300.00", account="12345678900004"))).json()
    await wait_for(lambda: _with_psp(merchant, p["id"]), what="submission")
    await merchant.post(f"/sandbox/payouts/{p['id']}/simulate", {"status": "failed", "failure_code": "invalid_account"})
    failed = await reaches(merchant, p["id"], "failed")
    spent = await merchant.post("/payouts", payout_body(amount="999800.00", account="12345678900004"))
    assert spent.status_code == 201, spent.text
    before = await balance(merchant)
    events = (await merchant.get("/events", params={"payout_id": p["id"], "limit": 100})).json()["data"]
    r = await merchant.post(f"/payouts/{p['id']}/reinitiate", {})
    assert r.status_code == 422 and r.json()["code"] == "insufficient_funds", r.text
    assert await get(merchant, p["id"]) == failed
    assert (await merchant.get("/events", params={"payout_id": p["id"], "limit": 100})).json()["data"] == events
    assert await balance(merchant) == before and before["available"] == "200.00"
    assert await check_invariant(merchant.merchant_id) == []


async def test_success_then_returned_via_ipn(merchant, worker):
    p = (await merchant.post("/payouts", payout_body(amount="40.00", account="12345678900006"))).json()
    done = await reaches(merchant, p["id"], "returned")
    assert [h["status"] for h in done["status_history"]] == ["pending", "processing", "success", "returned"]
    b = await balance(merchant)
    assert b["available"] == "1000000.00" and b["locked"] == "0.00"
    assert await check_invariant(merchant.merchant_id) == []


async def test_reinitiations_of_one_payout_are_capped(merchant, worker):
    """A payout may be reinitiated MAX_REINITIATIONS times; the next try is refused with
    409 and the reason, and changes nothing. Its history, and every event carrying it,
    stays bounded (1,000 reinitiations once made GET /events for it 24 MB)."""
    MAX_REINITIATIONS = 10  # noqa: N806  (the cap docs/scenarios-and-time.md states)
    p = (await merchant.post("/payouts", payout_body(account="12345678900003"))).json()
    for _ in range(MAX_REINITIATIONS):
        await settled(merchant, p["id"], "failed")
        r = await merchant.post(f"/payouts/{p['id']}/reinitiate", {})
        assert r.status_code == 200, r.text
    failed = await settled(merchant, p["id"], "failed")
    assert len(failed["status_history"]) == 3 * (MAX_REINITIATIONS + 1)
    before = await balance(merchant)

    r = await merchant.post(f"/payouts/{p['id']}/reinitiate", {})
    assert r.status_code == 409 and r.json()["code"] == "invalid_state", r.text
    assert f"reinitiated {MAX_REINITIATIONS} times" in r.json()["detail"]
    assert await get(merchant, p["id"]) == failed and await balance(merchant) == before
    assert await check_invariant(merchant.merchant_id) == []
