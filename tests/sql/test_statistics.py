"""ANALYZE leaves out the columns that only carry bodies (migration 2026-11-27T09:00): no
plan reads their statistics, and computing them was most of what the autovacuum's
ANALYZE cost under load. The columns statements do filter on keep theirs."""

from __future__ import annotations

import asyncpg

from sandbox.migrations.sandbox_2026_11_27t09_00_00_000000 import COLUMNS
from tests.helpers import new_merchant, payout_body

_ANALYZED_SQL = "SELECT tablename || '.' || attname AS col FROM pg_stats WHERE tablename = ANY($1::name[])"


async def test_analyze_leaves_out_the_body_columns_and_keeps_the_filtered_ones(stack):
    api, _ = await new_merchant(stack)  # a payout, its event, its request's log entry and stored answer
    try:
        assert (await api.post("/payouts", payout_body(), headers={"Idempotency-Key": "stats-1"})).status_code == 201
    finally:
        await api.aclose()
    conn = await asyncpg.connect(stack.database_url)
    try:
        await conn.execute("ANALYZE " + ", ".join(COLUMNS))
        analyzed = {r["col"] for r in await conn.fetch(_ANALYZED_SQL, list(COLUMNS))}
    finally:
        await conn.close()
    assert not {f"{t}.{c}" for t, columns in COLUMNS.items() for c in columns} & analyzed
    assert {"payout.status", "payout.merchant", "payout.next_action_at", "payout.script", "payout.destination",
            "request_log.merchant", "request_log.object_ids", "outbox_event.payout_id"} <= analyzed
