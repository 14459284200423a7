"""GET /balance/summary: buckets and lifetime totals, cached, and never stale."""

from tests.helpers import payout_body, wait_for


async def summary(api) -> dict:
    r = await api.get("/balance/summary")
    assert r.status_code == 200, r.text
    return r.json()


async def test_totals_and_cache(merchant):
    first = await summary(merchant)
    assert first["available"] == "1000000.00" and first["total"] == "1000000.00"
    assert first["totals"]["opening_balance"] == {"count": 1, "amount": "1000000.00"}
    assert first["totals"]["topped_up"] == {"count": 0, "amount": "0.00"}
    assert first["totals"]["in_flight"] == {"count": 0, "amount": "0.00"}
    # Unchanged balance: the cached figures, computed at the same moment.
    again = await summary(merchant)
    assert again == first

    # A change is visible at once, in the very next request.
    r = await merchant.post("/payouts", payout_body(amount="100.00"))
    assert r.status_code == 201, r.text
    after = await summary(merchant)
    assert after["computed_at"] >= first["computed_at"]
    assert after["available"] == "999900.00" and after["locked"] == "100.00"
    assert after["totals"]["in_flight"] == {"count": 1, "amount": "100.00"}

    await merchant.post(f"/payouts/{r.json()['id']}/cancel", {})
    await merchant.post("/sandbox/topups", {"amount": "5.00"})
    latest = await summary(merchant)
    assert latest["available"] == "1000005.00" and latest["locked"] == "0.00"
    assert latest["totals"]["released"] == {"count": 1, "amount": "100.00"}
    assert latest["totals"]["topped_up"] == {"count": 1, "amount": "5.00"}
    assert latest["totals"]["in_flight"]["count"] == 0


async def test_worker_changes_invalidate(merchant, worker):
    """Changes made by the worker (not by a request of this merchant) drop the cache too."""
    await summary(merchant)
    ok = (await merchant.post("/payouts", payout_body(amount="10.00", account="12345678900001"))).json()
    failed = (await merchant.post("/payouts", payout_body(amount="20.00", account="12345678900003"))).json()

    async def settled():
        s = await summary(merchant)
        return s if s["totals"]["paid_out"]["count"] == 1 and s["totals"]["released"]["count"] == 1 else None

    s = await wait_for(settled, what=f"payouts {ok['id']} and {failed['id']} to finish")
    assert s["totals"]["paid_out"]["amount"] == "10.00" and s["totals"]["released"]["amount"] == "20.00"
    assert s["available"] == "999990.00" and s["locked"] == "0.00"


async def test_admin_key_is_refused(admin):
    r = await admin.get("/balance/summary")
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
