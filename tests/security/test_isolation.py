"""A merchant sees only its own objects: another merchant's id answers exactly like a
missing one."""

from tests.helpers import payout_body


async def test_other_merchants_payout_is_not_found(merchant, other_merchant):
    p = (await merchant.post("/payouts", payout_body())).json()
    missing = await other_merchant.get("/payouts/po_000000000000000000000000")
    theirs = await other_merchant.get(f"/payouts/{p['id']}")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json()["code"] == missing.json()["code"] == "not_found"
    cancel = await other_merchant.post(f"/payouts/{p['id']}/cancel", {})
    assert cancel.status_code == 404
    assert (await other_merchant.get("/payouts")).json()["data"] == []
    assert (await other_merchant.get("/payouts", params={"reference": p["reference"] or ""})).json()["data"] == []
    assert (await merchant.get(f"/payouts/{p['id']}")).json()["status"] == "pending"


async def test_balances_and_history_are_per_merchant(merchant, other_merchant):
    await merchant.post("/payouts", payout_body(amount="10.00"))
    assert (await other_merchant.get("/balance")).json()["locked"] == "0.00"
    feed = (await other_merchant.get("/balance/history", params={"since_seq": 0})).json()["data"]
    assert [e["kind"] for e in feed] == ["opening_balance"]


async def test_admin_key_cannot_use_merchant_routes(admin):
    r = await admin.get("/balance")
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
