"""Admin review over HTTP: the queue of payouts in review, approve and reject, release
and reject of a payout on hold; a merchant key is refused; funds and the ledger follow."""

from sandbox.ledger.service import check_invariant
from tests.helpers import balance, payout_body, reaches


async def test_on_hold_release_and_reject(merchant, admin, worker):
    held = (await merchant.post("/payouts", payout_body(account="12345678900005"))).json()
    other = (await merchant.post("/payouts", payout_body(account="22345678900005"))).json()
    await reaches(merchant, held["id"], "on_hold")
    await reaches(merchant, other["id"], "on_hold")
    r = await merchant.post(f"/admin/payouts/{held['id']}/release", {})
    assert r.status_code == 403
    r = await admin.post(f"/admin/payouts/{held['id']}/release", {"reason": "kyc ok"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "processing"
    done = await reaches(merchant, held["id"], "success")
    assert [h["status"] for h in done["status_history"]] == ["pending", "on_hold", "processing", "success"]
    r = await admin.post(f"/admin/payouts/{other['id']}/reject", {"reason": "sanctions hit"})
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert (await balance(merchant))["locked"] == "0.00"
    assert (await admin.post(f"/admin/payouts/{other['id']}/release", {})).status_code == 409
    assert await check_invariant(merchant.merchant_id) == []


async def test_review_approve_and_reject(merchant, admin, worker):
    big = (await merchant.post("/payouts", payout_body(amount="150000.00", account="12345678900002"))).json()
    big2 = (await merchant.post("/payouts", payout_body(amount="150000.00"))).json()
    assert big["status"] == "in_review"
    queue = (await admin.get("/admin/payouts", params={"status": "in_review", "merchant_id": merchant.merchant_id}))
    assert {p["id"] for p in queue.json()["data"]} == {big["id"], big2["id"]}
    requests = (await admin.get("/admin/payouts/requests")).json()["data"]
    mine = next(m for m in requests if m["merchant_id"] == merchant.merchant_id)
    assert mine["requested"] == {"count": 2, "amount": "300000.00"}
    # In flight means funds still locked, waiting for review included: the admin queue
    # and the merchant's balance summary count the same payouts.
    assert mine["in_flight"] == {"count": 2, "amount": "300000.00"}
    summary = (await merchant.get("/balance/summary")).json()
    assert summary["totals"]["in_flight"] == mine["in_flight"]
    r = await admin.post(f"/admin/payouts/{big['id']}/approve", {"reason": "looks fine"})
    assert r.status_code == 200 and r.json()["status"] == "pending"
    done = await reaches(merchant, big["id"], "success")
    assert [h["status"] for h in done["status_history"]] == [
        "in_review", "pending", "processing", "retrying", "processing", "success"]
    r = await admin.post(f"/admin/payouts/{big2['id']}/reject", {})
    assert r.json()["status"] == "rejected"
    assert (await balance(merchant))["available"] == "850000.00"
    assert await check_invariant(merchant.merchant_id) == []


async def test_admin_actions_refuse_payouts_in_the_wrong_state(merchant, admin):
    """Approve takes only a payout in review, release only one on hold: 409 otherwise, and
    a merchant key is 403 before anything is looked at."""
    ordinary = (await merchant.post("/payouts", payout_body())).json()
    assert ordinary["status"] == "pending"
    for action in ("approve", "release", "reject"):
        r = await admin.post(f"/admin/payouts/{ordinary['id']}/{action}", {})
        assert r.status_code == 409 and r.json()["code"] == "invalid_state", (action, r.text)
        r = await merchant.post(f"/admin/payouts/{ordinary['id']}/{action}", {})
        assert r.status_code == 403 and r.json()["code"] == "forbidden", (action, r.text)
    assert (await admin.post("/admin/payouts/po_000000000000000000000000/approve", {})).status_code == 404
    assert (await balance(merchant))["locked"] == "1500.00"
    assert await check_invariant(merchant.merchant_id) == []
