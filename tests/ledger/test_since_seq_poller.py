"""A `since_seq` poller reads every ledger entry exactly once, in order, with no gaps,
while payouts are created by the API and moved by the worker at the same time."""

import asyncio
import secrets
from decimal import Decimal

from tests.helpers import payout_body, wait_for

PAYOUTS = 60
WRITERS = 6
PAGE = 25  # small pages, so the poller pages often while entries are being written


async def test_poller_sees_each_entry_once_in_order(admin, merchant, worker):
    # This test polls hard: lift the merchant's limit so the default does not refuse it.
    r = await admin.http.put(f"/admin/merchants/{merchant.merchant_id}/rate-limit",
                             json={"requests_per_minute": 1_000_000},
                             headers={"X-Idempotency-Key": secrets.token_hex(8)})
    assert r.status_code == 200
    accounts = ["12345678900001", "12345678900003", "12345678900002"]  # success, failed, retry → success
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(PAYOUTS):
        queue.put_nowait(i)
    ids: list[str] = []

    async def writer():
        while not queue.empty():
            i = queue.get_nowait()
            r = await merchant.post("/payouts", payout_body(amount=f"{1 + i % 7}.00", account=accounts[i % 3]))
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])

    seen: list[dict] = []
    polls = 0

    async def poll_once() -> int:
        nonlocal polls
        polls += 1
        since = seen[-1]["seq"] if seen else 0
        r = await merchant.get("/balance/history", params={"since_seq": since, "limit": PAGE})
        assert r.status_code == 200, r.text
        page = r.json()["data"]
        for entry in page:
            expected = (seen[-1]["seq"] if seen else 0) + 1
            assert entry["seq"] == expected, f"gap or repeat: got {entry['seq']} after {expected - 1}"
            seen.append(entry)
        return len(page)

    writers = [asyncio.create_task(writer()) for _ in range(WRITERS)]
    while not all(w.done() for w in writers):
        await poll_once()
    await asyncio.gather(*writers)

    async def all_final():
        r = await merchant.get("/balance")
        return r.json()["locked"] == "0.00"

    await wait_for(all_final, timeout=60, what="every payout to finish")
    while await poll_once():
        pass

    # Exactly once, in order, nothing missing: the poller's copy is the whole feed.
    balance = (await merchant.get("/balance")).json()
    assert [e["seq"] for e in seen] == list(range(1, len(seen) + 1))
    full: list[dict] = []
    cursor = None
    while True:
        params = {"limit": 1000, **({"cursor": cursor} if cursor else {"since_seq": 0})}
        body = (await merchant.get("/balance/history", params=params)).json()
        full.extend(body["data"])
        if not body["has_more"]:
            break
        cursor = body["next_cursor"]
    assert seen == full
    # opening balance, 2 legs per created payout, 1 per success (locked → out), 2 per failure
    succeeded, failed = PAYOUTS * 2 // 3, PAYOUTS // 3
    assert len(seen) == 1 + 2 * PAYOUTS + succeeded + 2 * failed and polls > 10
    for bucket in ("available", "locked", "pending"):
        assert sum(Decimal(e["amount"]) for e in seen if e["bucket"] == bucket) == Decimal(balance[bucket])
