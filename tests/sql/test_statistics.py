"""ANALYZE leaves out the columns that only carry bodies (migration 2026-11-27T09:00): no
plan reads their statistics, and computing them was most of what the autovacuum's
ANALYZE cost under load. The columns statements do filter on keep theirs."""

from __future__ import annotations

import asyncpg

from sandbox.migrations import sandbox_2026_11_27t13_00_00_000000 as smaller
from sandbox.migrations.sandbox_2026_11_27t09_00_00_000000 import COLUMNS
from sandbox.payouts.store import repository
from tests.helpers import new_merchant, payout_body
from tests.sql.test_worker_plans import claim_plans_on
from worker.main import WORKER_SERVER_SETTINGS

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


_TARGETS_SQL = """
SELECT attrelid::regclass::text || '.' || attname AS col, attstattarget AS target FROM pg_attribute
 WHERE attrelid = ANY ($1::text[]::regclass[]) AND attnum > 0 AND NOT attisdropped
"""


async def test_the_growing_tables_sample_a_tenth_of_the_default_rows(stack):
    # Migration 2026-11-27T13:00: a target of 10 (or 0, no statistics) on every column; a
    # column added since without one would be sampled at the default and is named here.
    conn = await asyncpg.connect(stack.database_url)
    try:
        targets = {r["col"]: r["target"] for r in await conn.fetch(_TARGETS_SQL, list(smaller.TABLES))}
    finally:
        await conn.close()
    assert {t.split(".")[0] for t in targets} == set(smaller.TABLES)
    assert {col for col, target in targets.items() if target not in (0, smaller.TARGET)} == set()


# 20,000 payouts cloned from one, nine in ten of them the first merchant's, one in fifty due.
_CLONE_SQL = """
INSERT INTO payout
SELECT c.* FROM (SELECT * FROM payout WHERE merchant = $1 LIMIT 1) p, generate_series(1, 20000) g,
       jsonb_populate_record(NULL::payout, to_jsonb(p) || jsonb_build_object(
          'id', 'po_stats_' || g, 'number', nextval(pg_get_serial_sequence('payout', 'number')),
          'merchant', CASE WHEN g % 10 = 0 THEN $2 ELSE $1 END, 'reference', NULL, 'psp_reference', NULL,
          'status', (ARRAY['pending', 'processing', 'succeeded', 'failed', 'returned'])[1 + g % 5],
          'next_action_at', CASE WHEN g % 50 = 0 THEN now() END)) c
"""


async def test_with_the_smaller_samples_the_api_and_the_worker_still_walk_their_indexes(stack):
    api, busy = await new_merchant(stack)
    other_api, quiet = await new_merchant(stack)
    try:
        assert (await api.post("/payouts", payout_body(), headers={"Idempotency-Key": "stats-2"})).status_code == 201
    finally:
        await api.aclose()
        await other_api.aclose()
    conn = await asyncpg.connect(stack.database_url, server_settings=WORKER_SERVER_SETTINGS)
    try:
        # Rolled back: the clones and their statistics go (their dead pages stay until a vacuum).
        tx = conn.transaction()
        await tx.start()
        try:
            await conn.execute(_CLONE_SQL, busy, quiet)
            await conn.execute("ANALYZE payout")
            buckets = await conn.fetchval("SELECT cardinality(histogram_bounds::text::text[]) FROM pg_stats"
                                          " WHERE tablename = 'payout' AND attname = 'number'")
            assert buckets == smaller.TARGET + 1  # against 101 by default
            for merchant in (busy, quiet):
                listing = await conn.fetch("EXPLAIN " + repository.NEWEST_FIRST_SQL,
                                           merchant, None, None, None, None, None, 26)
                assert "Index Scan using payout_merchant_number" in "\n".join(r[0] for r in listing)
            plans = await claim_plans_on(conn, 3)
            assert len(plans) == 3 and all("Index Scan using payout_next_action on payout" in p for p in plans)
            assert not any("Bitmap" in p or "Seq Scan" in p for p in plans)
        finally:
            await tx.rollback()
    finally:
        await conn.close()
