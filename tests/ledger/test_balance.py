"""Balance, ledger history and the since_seq feed, top-ups."""

from tests.helpers import payout_body


async def test_topup(merchant):
    r = await merchant.post("/sandbox/topups", {"amount": "250.50"})
    assert r.status_code == 201, r.text
    assert r.json()["available"] == "1000250.50"
    b = (await merchant.get("/balance")).json()
    assert b["available"] == "1000250.50" and b["total"] == "1000250.50"


async def test_history_feed_and_pages(merchant):
    p = (await merchant.post("/payouts", payout_body(amount="100.00"))).json()
    await merchant.post(f"/payouts/{p['id']}/cancel", {})
    await merchant.post("/sandbox/topups", {"amount": "5.00"})
    feed = (await merchant.get("/balance/history", params={"since_seq": 0, "limit": 1000})).json()
    entries = feed["data"]
    assert [e["seq"] for e in entries] == list(range(1, len(entries) + 1))
    assert [(e["kind"], e["bucket"], e["amount"]) for e in entries] == [
        ("opening_balance", "available", "1000000.00"),
        ("payout_created", "available", "-100.00"),
        ("payout_created", "locked", "100.00"),
        ("payout_released", "available", "100.00"),
        ("payout_released", "locked", "-100.00"),
        ("topup", "available", "5.00"),
    ]
    assert entries[1]["payout_id"] == p["id"] and entries[1]["transaction_id"] == entries[2]["transaction_id"]
    # Polling from the middle sees only what came after.
    later = (await merchant.get("/balance/history", params={"since_seq": 4})).json()["data"]
    assert [e["seq"] for e in later] == [5, 6]
    # Feed pages by cursor.
    page = (await merchant.get("/balance/history", params={"since_seq": 0, "limit": 4})).json()
    assert page["has_more"] and [e["seq"] for e in page["data"]] == [1, 2, 3, 4]
    rest = (await merchant.get("/balance/history", params={"cursor": page["next_cursor"], "limit": 4})).json()
    assert [e["seq"] for e in rest["data"]] == [5, 6] and not rest["has_more"]
    # Default: newest first, cursor pages backwards.
    newest = (await merchant.get("/balance/history", params={"limit": 4})).json()
    assert [e["seq"] for e in newest["data"]] == [6, 5, 4, 3]
    older = (await merchant.get("/balance/history", params={"cursor": newest["next_cursor"]})).json()
    assert [e["seq"] for e in older["data"]] == [2, 1]
    # Sum of the feed per bucket is the balance.
    balance = (await merchant.get("/balance")).json()
    from decimal import Decimal
    for bucket in ("available", "locked", "pending"):
        assert sum(Decimal(e["amount"]) for e in entries if e["bucket"] == bucket) == Decimal(balance[bucket])


async def test_history_limits(merchant):
    r = await merchant.get("/balance/history", params={"limit": 1001})
    assert r.status_code == 400
    r = await merchant.get("/balance/history", params={"since_seq": -1})
    assert r.status_code == 400
