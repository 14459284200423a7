"""Which commits wait for the disk: a webhook queue's bookkeeping (a delivery's lease, its
outcome, the relay's claim) commits asynchronously, its own transaction alone; money never
does (sandbox/db.py, ASYNC_COMMIT; what a crash then costs: docs/webhooks.md)."""

from __future__ import annotations

from pathlib import Path

import asyncpg

from sandbox import db
from sandbox.webhooks.delivery import relay
from sandbox.webhooks.store import deliveries

REPO = Path(__file__).resolve().parents[2]
RELAXED = {"sandbox/db.py", "sandbox/webhooks/store/deliveries.py", "sandbox/webhooks/delivery/relay.py"}


async def test_a_relaxed_statement_relaxes_its_own_transaction_and_no_later_one(stack):
    conn = await asyncpg.connect(stack.database_url)
    try:
        async with conn.transaction():
            await conn.execute(f"SELECT 1 WHERE {db.ASYNC_COMMIT}")
            assert await conn.fetchval("SHOW synchronous_commit") == "off"
        # The next transaction on the same connection (a pooled one may be a payout's next).
        assert await conn.fetchval("SHOW synchronous_commit") == "on"
        await conn.fetch(f"SELECT 1 WHERE {db.ASYNC_COMMIT}")  # a statement on its own
        assert await conn.fetchval("SHOW synchronous_commit") == "on"
        # Evaluated before the rows are read, so also when none match.
        async with conn.transaction():
            assert await conn.fetch(f"SELECT relname FROM pg_class WHERE relname = 'no such' AND {db.ASYNC_COMMIT}") == []
            assert await conn.fetchval("SHOW synchronous_commit") == "off"
    finally:
        await conn.close()


def test_only_the_webhook_queues_bookkeeping_commits_asynchronously():
    assert db.ASYNC_COMMIT in relay._CLAIM_SQL
    for sql in (deliveries._CLAIM_SQL, deliveries._CLAIM_DUE_SQL, deliveries._RECORD_SQL):
        assert db.ASYNC_COMMIT in sql
    users = {str(p.relative_to(REPO)) for root in ("sandbox", "worker", "ipn") for p in (REPO / root).rglob("*.py")
             if "ASYNC_COMMIT" in (text := p.read_text()) or "synchronous_commit" in text}
    users |= {str(p.relative_to(REPO)) for p in (REPO / "sandbox" / "sql").rglob("*.sql")
              if "synchronous_commit" in p.read_text()}
    assert users == RELAXED
