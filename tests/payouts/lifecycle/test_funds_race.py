"""Concurrent payouts that together ask for more than the balance, and a balance emptied
while a payout's own statement waits for it."""

import asyncio
import secrets

import asyncpg

from sandbox.core.clock import now
from sandbox.ledger import service as ledger
from sandbox.ledger.service import check_invariant
from tests.helpers import new_merchant, payout_body, wait_for


async def test_concurrent_payouts_never_overdraw(stack):
    api, merchant_id = await new_merchant(stack, opening_balance="10000.00")
    try:
        # 40 requests of 1,000.00 against 10,000.00: exactly 10 fit.
        responses = await asyncio.gather(*[api.post("/payouts", payout_body(amount="1000.00")) for _ in range(40)])
        codes = sorted(r.status_code for r in responses)
        assert codes.count(201) == 10, codes
        assert codes.count(422) == 30
        assert all(r.json()["code"] == "insufficient_funds" for r in responses if r.status_code == 422)
        balance = (await api.get("/balance")).json()
        assert balance["available"] == "0.00"
        assert balance["locked"] == "10000.00"
        assert await check_invariant(merchant_id) == []
    finally:
        await api.aclose()


async def test_a_balance_emptied_under_the_posting_refuses_and_keeps_nothing(stack):
    """POST /payouts writes the payout, its events, the key's answer and its log entry
    before it posts (so the merchant's balance row is locked only for the ledger's rows and
    the commit). Funds taken by another transaction after the call first looked, while it
    waits for the balance row: 422 insufficient_funds, and none of what it wrote stays."""
    api, merchant_id = await new_merchant(stack, opening_balance="1000.00")
    holder = await asyncpg.connect(stack.database_url)
    watcher = await asyncpg.connect(stack.database_url)
    try:
        emptying = holder.transaction()
        await emptying.start()
        await holder.fetch("SELECT * FROM ledger_post($1, $2, $3, $4, $5, $6)",
                           *ledger.posting(merchant_id, "payout_created", 100000, None, now()).args())
        key, reference = secrets.token_hex(16), f"race-{secrets.token_hex(4)}"
        waiting = asyncio.create_task(api.post("/payouts", payout_body(amount="10.00", reference=reference), idem=key))
        await wait_for(lambda: watcher.fetchval(
            "SELECT count(*) > 0 FROM pg_stat_activity"
            " WHERE wait_event_type = 'Lock' AND query LIKE '%payout_create%'"),
            what="the payout's statement waiting for the balance row")
        await emptying.commit()
        answer = await waiting
        assert answer.status_code == 422, answer.text
        assert answer.json()["code"] == "insufficient_funds"
        replayed = await api.post("/payouts", payout_body(amount="10.00", reference=reference), idem=key)
        assert (replayed.status_code, replayed.json()) == (422, answer.json())
        assert await watcher.fetchval("SELECT count(*) FROM payout WHERE merchant = $1", merchant_id) == 0
        assert await watcher.fetchval("SELECT count(*) FROM outbox_event WHERE merchant = $1", merchant_id) == 0
        logged = (await api.get("/sandbox/requests", params={"method": "POST", "limit": 5})).json()["data"]
        assert [(e["path"], e["status"]) for e in logged] == [("/api/v1/payouts", 422)] * 2
        balance = (await api.get("/balance")).json()
        assert (balance["available"], balance["locked"]) == ("0.00", "1000.00")
        assert await check_invariant(merchant_id) == []
        # The reference was never taken: with the funds back, the same payout is made.
        await holder.fetch("SELECT * FROM ledger_post($1, $2, $3, $4, $5, $6)",
                           *ledger.posting(merchant_id, "payout_released", 100000, None, now()).args())
        made = await api.post("/payouts", payout_body(amount="10.00", reference=reference))
        assert made.status_code == 201, made.text
    finally:
        await holder.close()
        await watcher.close()
        await api.aclose()
