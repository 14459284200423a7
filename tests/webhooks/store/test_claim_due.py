"""The pool's claim (`deliveries.claim_due`) on fresh tables: the oldest due first, no
merchant beyond its room, no delivery leased twice by claims made at once, and only the
rows it leases looked up and locked (not every candidate fairness reads)."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from sandbox import db
from sandbox.webhooks.store import deliveries
from tests.webhooks import fresh_tables

# Merchant "busy" has the 900 oldest due deliveries, "calm" the 300 after them.
BUSY, CALM = 900, 300


@pytest.fixture
async def due(database) -> AsyncIterator[str]:
    async with fresh_tables.fresh_schema() as schema:
        at = datetime.now(UTC) - timedelta(minutes=1)
        async with fresh_tables.inside(schema):
            for merchant in ("busy", "calm"):
                await db.execute(
                    "INSERT INTO webhook_endpoint (id, merchant, url, events, signing, signing_key, status,"
                    " created_at, updated_at) VALUES ($1, $2, 'http://127.0.0.1:9/hook', '[]', 'hmac-sha256',"
                    " 'whsec_x', 'enabled', $3, $3)", f"we_{merchant}", merchant, at)
            await db.execute(
                "INSERT INTO outbox_event (id, merchant, type, data, created_at, sequence)"
                " SELECT 'evt_' || i, CASE WHEN i <= $1::int THEN 'busy' ELSE 'calm' END, 'payout.created', '{}', $3, 1"
                " FROM generate_series(1, $1::int + $2::int) AS i", BUSY, CALM, at)
            await db.execute(
                "INSERT INTO webhook_delivery (id, merchant, event, endpoint, generation, seq, status, attempts,"
                " next_attempt_at, created_at, updated_at)"
                " SELECT 'whd_' || i, e.merchant, e.id, 'we_' || e.merchant, 0, i, 'pending', 0,"
                " $1::timestamptz + i * interval '1 ms', $1, $1"
                " FROM generate_series(1, $2::int) AS i JOIN outbox_event e ON e.id = 'evt_' || i", at, BUSY + CALM)
            await db.execute("ANALYZE webhook_delivery")
        yield schema


async def _claim(schema: str, limit: int, held: dict[str, int] | None = None) -> list[deliveries.Target]:
    async with fresh_tables.inside(schema):
        return (await deliveries.claim_due(limit, 100, held or {})).targets


async def test_the_oldest_first_and_no_merchant_beyond_its_room(due):
    targets = await _claim(due, 250, {"busy": 40})
    by_merchant = Counter(t.merchant for t in targets)
    assert by_merchant == {"busy": 60, "calm": 100}  # busy: 100 - 40 held; calm: the candidates' share
    busy = [t.seq for t in targets if t.merchant == "busy"]
    assert busy == list(range(1, 61))  # busy's oldest


async def test_claims_made_at_once_never_lease_one_delivery_twice(due):
    first, second = await asyncio.gather(_claim(due, 150), _claim(due, 150))
    ids = [t.delivery_id for t in first + second]
    assert len(ids) == len(set(ids)) and ids
    assert len({t.lease_token for t in first} & {t.lease_token for t in second}) == 0


async def test_only_the_rows_leased_are_looked_up_and_locked(due):
    async with fresh_tables.inside(due):
        plan = "\n".join(r[0] for r in await db.fetch(
            "EXPLAIN (ANALYZE, COSTS OFF) " + deliveries._CLAIM_DUE_SQL, datetime.now(UTC), timedelta(minutes=1),
            "token", 50, 1000, 100, [], [], []))
    under_lock = plan[plan.index("LockRows"):].splitlines()
    join = next(line for line in under_lock if "Join" in line or "Nested Loop" in line)
    # The rows joined to the table to be locked: the 50 leased, not the 1,000 candidates.
    assert re.search(r"rows=50\.00 loops=1\)", join), plan
