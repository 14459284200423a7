"""GET /balance/verify: the merchant's own ledger check — each bucket as the balance row
holds it and as the ledger sums it, the transaction count, unbalanced ones, `ok`."""

from __future__ import annotations

from sandbox import db
from sandbox.core.money import parse_amount
from tests.helpers import payout_body


async def test_verify_reports_each_bucket_and_the_transactions(merchant):
    assert (await merchant.post("/payouts", payout_body(amount="1500.00"))).status_code == 201
    assert (await merchant.post("/sandbox/collections", {"amount": "20.00"})).status_code == 201
    r = await merchant.get("/balance/verify")
    assert r.status_code == 200, r.text
    check = r.json()
    balance = (await merchant.get("/balance")).json()
    assert check["ok"] is True and check["currency"] == "PKR"
    for bucket in ("available", "locked", "pending"):
        assert check[bucket] == {"balance": balance[bucket], "ledger": balance[bucket], "ok": True}
    assert check["locked"]["ledger"] == "1500.00" and check["pending"]["ledger"] == "20.00"
    history = (await merchant.get("/balance/history", params={"since_seq": 0, "limit": 1000})).json()["data"]
    assert check["ledger_transactions"] == len({e["transaction_id"] for e in history}) == 3
    assert check["unbalanced_transactions"] == 0


async def test_verify_says_when_a_bucket_and_its_entries_differ(merchant):
    # A balance row changed behind the ledger's back (what the check exists to catch), and put
    # back after: the database is the run's, and tests/retention checks the invariant over
    # every merchant in it.
    await db.execute("UPDATE balance SET available = available + 1 WHERE merchant = $1", merchant.merchant_id)
    try:
        check = (await merchant.get("/balance/verify")).json()
    finally:
        await db.execute("UPDATE balance SET available = available - 1 WHERE merchant = $1", merchant.merchant_id)
    assert (await merchant.get("/balance/verify")).json()["ok"] is True
    assert check["ok"] is False
    assert check["available"]["ok"] is False
    assert check["locked"]["ok"] is True and check["pending"]["ok"] is True
    assert parse_amount(check["available"]["balance"]) - parse_amount(check["available"]["ledger"]) == 1


async def test_verify_needs_a_merchant_key(admin):
    r = await admin.get("/balance/verify")
    assert r.status_code == 403, r.text
