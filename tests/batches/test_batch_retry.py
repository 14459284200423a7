"""POST /payout-batches/{id}/retry re-initiates each failed item once, whatever how
often it is called."""

import asyncio
from collections import Counter

from sandbox import db
from sandbox.batches import processing
from sandbox.ledger.service import check_invariant
from sandbox.payouts.lifecycle import actions
from tests.batches.helpers import HEADER, items, upload_csv, wait_completed
from tests.helpers import wait_for

ROWS = [
    "f1,10.00,bank,HBL,,,12345678900003,,fails\n",
    "f2,11.00,wallet,,EASYPAISA,,03001230003,,fails\n",
    "ok,12.00,bank,HBL,,,12345678900001,,succeeds\n",
]


async def test_retry_failed_items_once(merchant, worker):
    batch = (await upload_csv(merchant, HEADER + "".join(ROWS))).json()
    await wait_completed(merchant, batch["id"])

    async def failed_twice_or_more(n: int):
        got = await items(merchant, batch["id"], status="failed")
        return got if len(got) == n else None

    failed = await wait_for(lambda: failed_twice_or_more(2), what="both payouts to fail")
    assert {i["reference"] for i in failed} == {"f1", "f2"} and all(i["retry"] is None for i in failed)

    r = await merchant.post(f"/payout-batches/{batch['id']}/retry", {})
    assert r.status_code == 202, r.text
    assert r.json() == {"batch_id": batch["id"], "requested": 2}

    async def retried():
        got = await items(merchant, batch["id"])
        done = [i for i in got if i["retry"] == "done"]
        return got if len(done) == 2 and all(i["status"] == "failed" for i in done) else None

    after = await wait_for(retried, what="the failed payouts to be re-initiated and fail again")
    for item in after:
        if item["retry"] == "done":
            payout = (await merchant.get(f"/payouts/{item['payout_id']}")).json()
            assert payout["attempts"] == 2 and [h["status"] for h in payout["status_history"]].count("pending") == 2
    # Failed again, but each item is retried once only: a second call asks for nothing.
    again = await merchant.post(f"/payout-batches/{batch['id']}/retry", {})
    assert again.status_code == 202 and again.json()["requested"] == 0
    counts = (await merchant.get(f"/payout-batches/{batch['id']}")).json()["counts"]
    assert counts["failed"] == 2 and counts["success"] == 1
    assert await check_invariant(merchant.merchant_id) == []


async def test_a_retry_holds_the_balance_row_for_a_few_payouts_at_a_time(merchant, worker, monkeypatch):
    """Each re-initiation posts on the merchant's balance row, held until its transaction
    commits, while the merchant's own POSTs wait: a retry of many failed payouts goes
    RETRY_CHUNK a transaction, not the whole batch in one (which held the row for seconds
    under load, and a collection POSTed meanwhile answered 503)."""
    count = 2 * processing.RETRY_CHUNK + 3
    rows = "".join(f"f{i},1.00,bank,HBL,,,{i:010d}0003,,fails\n" for i in range(count))
    batch = (await upload_csv(merchant, HEADER + rows)).json()
    await wait_completed(merchant, batch["id"])
    await wait_for(lambda: _failed(merchant, batch["id"], count), timeout=60, what="every payout to fail")
    transactions: Counter[int] = Counter()
    reinitiate = actions.reinitiate

    async def counted(*args):
        transactions[await db.fetchval("SELECT txid_current()")] += 1
        return await reinitiate(*args)

    monkeypatch.setattr(actions, "reinitiate", counted)
    r = await merchant.post(f"/payout-batches/{batch['id']}/retry", {})
    assert r.status_code == 202 and r.json()["requested"] == count, r.text
    await wait_for(lambda: asyncio.sleep(0, transactions.total() == count), what="every item re-initiated")
    assert max(transactions.values()) <= processing.RETRY_CHUNK, transactions
    assert await check_invariant(merchant.merchant_id) == []


async def _failed(merchant, batch_id: str, count: int) -> bool:
    return len(await items(merchant, batch_id, status="failed")) == count
