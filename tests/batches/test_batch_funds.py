"""A batch that runs out of funds part-way through a chunk: each row is decided in line
order against the funds left, as POSTing the rows one by one would decide it. A row
beyond the funds is refused and changes nothing; a later, smaller row that still fits
is created."""

import asyncio

import pytest

from sandbox import db
from sandbox.ledger.service import check_invariant
from sandbox.payouts.store import own_scenarios
from tests.batches.helpers import HEADER, items, upload_csv, wait_completed
from tests.helpers import new_merchant

ROWS = [  # (reference, amount) against an opening balance of 1,000.00
    ("f1", "300.00"), ("f2", "300.00"), ("f3", "300.00"),
    ("f4", "200.00"),  # 100.00 left: refused
    ("f5", "100.00"),  # fits exactly
    ("f6", "0.01"),  # nothing left: refused
]


@pytest.fixture
async def poor_merchant(stack):
    api, merchant_id = await new_merchant(stack, opening_balance="1000.00")
    api.merchant_id = merchant_id
    yield api
    await api.aclose()


@pytest.mark.parametrize("chunk", ["one chunk", "three chunks, the first slow to decide"])
async def test_funds_run_out_mid_chunk(poor_merchant, worker, monkeypatch, chunk):
    if chunk != "one chunk":
        # Two rows a chunk, two chunks side by side: the first takes half a second after
        # claiming its rows, and the second must still decide its rows after it.
        monkeypatch.setenv("SANDBOX_BATCH_CHUNK", "2")
        of_merchant, calls = own_scenarios.of_merchant, []

        async def slow_first(merchant_id):
            calls.append(merchant_id)
            if len(calls) == 1:
                await asyncio.sleep(0.5)
            return await of_merchant(merchant_id)

        monkeypatch.setattr(own_scenarios, "of_merchant", slow_first)
    csv = HEADER + "".join(f"{ref},{amount},bank,HBL,,,12345678900001,,funds\n" for ref, amount in ROWS)
    r = await upload_csv(poor_merchant, csv)
    assert r.status_code == 202, r.text
    done = await wait_completed(poor_merchant, r.json()["id"])
    assert done["status"] == "completed_with_errors" and done["counts"]["refused"] == 2

    outcome = [(i["reference"], i["status"] == "refused", i["reason"]) for i in await items(poor_merchant, done["id"])]
    assert [(ref, refused) for ref, refused, _ in outcome] == [
        ("f1", False), ("f2", False), ("f3", False), ("f4", True), ("f5", False), ("f6", True)]
    assert all(reason.startswith("insufficient_funds") for _, refused, reason in outcome if refused)

    # The refused rows wrote nothing: no payout, no posting, no event; the created ones hold all the funds.
    payouts = await db.fetch("SELECT reference, amount FROM payout WHERE merchant = $1 ORDER BY reference",
                             poor_merchant.merchant_id)
    assert [(p["reference"], p["amount"]) for p in payouts] == [
        ("f1", 30000), ("f2", 30000), ("f3", 30000), ("f5", 10000)]
    assert await db.fetchval("SELECT count(*) FROM outbox_event WHERE merchant = $1 AND type = 'payout.created'",
                             poor_merchant.merchant_id) == 4
    assert await db.fetchval("SELECT count(*) FROM ledger_transaction WHERE merchant = $1 AND kind = 'payout_created'",
                             poor_merchant.merchant_id) == 4
    balance = (await poor_merchant.get("/balance")).json()
    assert balance["available"] == "0.00"
    assert await check_invariant(poor_merchant.merchant_id) == []
