"""A fresh sandbox plans the webhook claim as well in its first minute as after an hour:
on queue tables that were just made and filled with a few thousand due deliveries, the
worker's first ANALYZE (`queue_statistics.analyze_new`) makes the claim walk the due
index and stop at its limit, where without statistics it fetched and sorted every due
row. EXPLAIN, not timing. The tables are made fresh in a schema of their own (with the
public tables' columns and indexes), autovacuum off on them so that only the worker's
ANALYZE can give them statistics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from sandbox import db, queue_statistics
from sandbox.webhooks.store import deliveries
from tests.webhooks import fresh_tables

DUE, DONE = 5_000, 5_000


@pytest.fixture
async def fresh(database) -> AsyncIterator[str]:
    async with fresh_tables.fresh_schema() as schema:
        at = datetime.now(UTC) - timedelta(minutes=1)
        async with db.transaction():
            # DUE deliveries waiting for an attempt, DONE finished ones (no due time).
            await db.execute(
                f"INSERT INTO {schema}.webhook_delivery (id, number, merchant, event, endpoint, generation, seq,"
                " status, attempts, next_attempt_at, created_at, updated_at)"
                " SELECT 'whd_' || i, i, 'mer_' || (i % 50), 'evt_' || i, 'we_' || (i % 50), 0, i,"
                " CASE WHEN i <= $1::int THEN 'pending' ELSE 'succeeded' END, 0,"
                " CASE WHEN i <= $1::int THEN $3::timestamptz + i * interval '1 ms' END, $3, $3"
                " FROM generate_series(1, $1::int + $2::int) AS i", DUE, DONE, at)
            await db.execute("SELECT pg_stat_force_next_flush()")  # the counts analyze_new reads, at commit
        yield schema


async def _claim_plan(schema: str) -> str:
    async with fresh_tables.inside(schema):
        rows = await db.fetch("EXPLAIN " + deliveries._CLAIM_DUE_SQL, datetime.now(UTC), timedelta(minutes=1),
                              "token", 250, 1000, 100, [], [], [])
    return "\n".join(r[0] for r in rows)


async def _analyze_new(schema: str) -> list[str]:
    async with fresh_tables.inside(schema):
        return await queue_statistics.analyze_new()


async def _due_index(schema: str) -> str:
    return await db.fetchval("SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = 'webhook_delivery'"
                             " AND indexdef LIKE '%WHERE (next_attempt_at IS NOT NULL)'", schema)


async def test_the_first_statistics_make_the_claim_walk_the_due_index(fresh):
    walk = f"Index Scan using {await _due_index(fresh)} on webhook_delivery"
    # Without statistics: every pending row read (by a scan of the table, or of the index of
    # pending deliveries by endpoint, which holds them all) and sorted, to keep the first 1,000.
    before = await _claim_plan(fresh)
    assert walk not in before and ("Seq Scan on webhook_delivery" in before
                                   or "Bitmap Index Scan on webhook_delivery_endpoint" in before), before
    assert await _analyze_new(fresh) == ["webhook_delivery"]
    # With them: the due index walked in order, stopping at the candidates' limit.
    after = await _claim_plan(fresh)
    lines = after.splitlines()
    at = next(i for i, line in enumerate(lines) if walk in line)
    assert lines[at - 1].strip().startswith("->  Limit"), after
    # Once per table: the next check finds nothing new to analyze.
    assert await _analyze_new(fresh) == []
