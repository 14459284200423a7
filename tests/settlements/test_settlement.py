"""Collections credit pending; settlement runs move them on with ledger entries; the
report reconciles; the event is written."""

import csv
import io
from decimal import Decimal

from sandbox import db
from sandbox.ledger.service import check_invariant
from sandbox.settlements import service
from tests.helpers import wait_for


async def collect(api, amount: str, outcome: str = "approve", **extra) -> dict:
    r = await api.post("/sandbox/collections", {"amount": amount, "outcome": outcome, **extra})
    assert r.status_code == 201, r.text
    return r.json()


async def test_collections_settle_and_reconcile(merchant, other_merchant, database):
    ok = await collect(merchant, "100.00", reference="-cmd", description="=HYPERLINK(\"http://x\")")
    bad = await collect(merchant, "30.50", "decline", description="@SUM(A1)")
    assert ok["status"] == bad["status"] == "pending" and ok["settlement_id"] is None
    b = (await merchant.get("/balance")).json()
    assert b["pending"] == "130.50" and b["available"] == "1000000.00" and b["total"] == "1000130.50"

    assert await service.run_due() >= 1  # what the cron job runs
    assert await service.run_due() == 0  # nothing twice
    b = (await merchant.get("/balance")).json()
    assert b["pending"] == "0.00" and b["available"] == "1000100.00"
    settled = (await merchant.get(f"/sandbox/collections/{ok['id']}")).json()
    declined = (await merchant.get(f"/sandbox/collections/{bad['id']}")).json()
    assert settled["status"] == "settled" and declined["status"] == "declined"
    assert settled["settlement_id"] == declined["settlement_id"]

    page = (await merchant.get("/settlements")).json()
    assert [s["id"] for s in page["data"]] == [settled["settlement_id"]] and not page["has_more"]
    run = page["data"][0]
    assert (run["settled_count"], run["settled_amount"], run["declined_count"], run["declined_amount"]) == (
        1, "100.00", 1, "30.50")
    assert run["available_change"] == "100.00" and run["pending_change"] == "-130.50"

    r = await merchant.get(f"/settlements/{run['id']}/report.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-type"].count("charset") == 1, r.headers["content-type"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    entries = [x for x in rows if x["line_type"] == "entry"]
    totals = {x["bucket"]: Decimal(x["amount"]) for x in rows if x["line_type"] == "total"}
    # One line per ledger entry of the run: settled = available + pending legs, declined = pending leg.
    assert sorted((x["kind"], x["bucket"], x["amount"]) for x in entries) == [
        ("collection_declined", "pending", "-30.50"),
        ("collection_settled", "available", "100.00"),
        ("collection_settled", "pending", "-100.00"),
    ]
    assert totals == {"available": Decimal("100.00"), "pending": Decimal("-130.50")}
    for bucket, total in totals.items():
        assert sum(Decimal(x["amount"]) for x in entries if x["bucket"] == bucket) == total
    # The feed has exactly these entries at these seqs.
    feed = (await merchant.get("/balance/history", params={"since_seq": 0})).json()["data"]
    by_seq = {e["seq"]: e for e in feed}
    for x in entries:
        assert by_seq[int(x["seq"])]["amount"] == x["amount"]
    # Formula-looking text is escaped; numbers stay numbers.
    by_id = {x["collection_id"]: x for x in entries}
    assert by_id[ok["id"]]["reference"] == "'-cmd"
    assert by_id[ok["id"]]["description"] == "'=HYPERLINK(\"http://x\")"
    assert by_id[bad["id"]]["description"] == "'@SUM(A1)"

    events = await db.fetch("SELECT data FROM outbox_event WHERE merchant = $1 AND type = 'settlement.completed'",
                            merchant.merchant_id)
    assert len(events) == 1
    assert await check_invariant(merchant.merchant_id) == []

    # Another merchant's run is as missing as one that never existed.
    assert (await other_merchant.get(f"/settlements/{run['id']}")).status_code == 404
    assert (await other_merchant.get(f"/settlements/{run['id']}/report.csv")).status_code == 404
    assert (await other_merchant.get(f"/sandbox/collections/{ok['id']}")).status_code == 404


async def test_cron_settles(merchant, worker):
    c = await collect(merchant, "12.34")

    async def settled():
        return (await merchant.get(f"/sandbox/collections/{c['id']}")).json()["status"] == "settled"

    await wait_for(settled, what="the settlement cron")
    assert (await merchant.get("/balance")).json()["available"] == "1000012.34"


async def test_bad_collections_change_nothing(merchant):
    for bad in ({"amount": "10.00", "outcome": "maybe"}, {"amount": "-1.00"}, {"amount": "1.001"},
                {"amount": "10.00", "extra": 1}, {}):
        r = await merchant.post("/sandbox/collections", bad)
        assert r.status_code == 400 and r.json()["code"] == "validation_error", (bad, r.text)
    assert (await merchant.get("/balance")).json()["pending"] == "0.00"
    assert (await merchant.get("/settlements/stl_nope")).status_code == 404
