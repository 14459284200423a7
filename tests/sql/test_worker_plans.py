"""The worker's claim of due payouts (`payout_claim_due`, run again and again as the
worker does) walks the due index in order, never a bitmap scan: a bitmap visits the heap
for every dead entry the payouts' steps leave in the index, on every claim. On the
worker's connections (`WORKER_SERVER_SETTINGS`) it is planned once, generically, never
afresh for the moment's values (which cost more than the claim itself under load, and
chose a worse plan from the queue tables' stale statistics). The plans are read from
PostgreSQL's auto_explain, which logs every statement the function runs."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from sandbox.core.ids import ordered_hex
from sandbox.payouts.store import repository
from worker.main import WORKER_SERVER_SETTINGS


async def _claim_plans(dsn: str, server_settings: dict[str, str] | None, *, only: list[str] | None = None
                       ) -> list[str]:
    """The plans of the claim's statements over eight claims on a new connection."""
    conn = await asyncpg.connect(dsn, server_settings=server_settings)
    try:
        return await claim_plans_on(conn, 8, only=only)
    finally:
        await conn.close()


async def claim_plans_on(conn: asyncpg.Connection, claims: int, *, only: list[str] | None = None) -> list[str]:
    """The plans of the claim's statements over `claims` claims on `conn`, each in a
    transaction of its own (a savepoint when `conn` is already in one)."""
    logged: list[str] = []
    conn.add_log_listener(lambda _conn, message: logged.append(message.message))
    await conn.execute("LOAD 'auto_explain'")
    await conn.execute("SET auto_explain.log_min_duration = 0; SET auto_explain.log_nested_statements = on;"
                       " SET client_min_messages = log")
    for _ in range(claims):
        async with conn.transaction():
            await conn.fetch(repository._CLAIM_DUE_SQL, datetime.now(UTC), [], 50, [], 1, 0, only)
    return [m for m in logged if "WITH first AS" in m]


async def test_the_claim_walks_the_due_index_in_order_never_a_bitmap(stack):
    plans = await _claim_plans(stack.database_url, WORKER_SERVER_SETTINGS)
    assert len(plans) == 8
    for plan in plans:
        said = f"{plan}\n{await _statistics(stack.database_url)}"
        assert "Index Scan using payout_next_action on payout" in plan, said
        assert "Bitmap" not in plan and "Seq Scan" not in plan, said


# Thirty merchants made one after another (their ids follow the clock, as since 28 Nov),
# then their payouts, a hundred each, merchant after merchant, each about 1.6 KB (five a
# page), half of them due at random times: the table holds the payouts in merchant order
# and the due ones in no order.
_MERCHANTS_SQL = ("INSERT INTO merchant (id, name)"
                  " SELECT $1 || lpad(to_hex(g), 12, '0'), 'plans' FROM generate_series(1, 30) g")
_WIDE_PAYOUTS_SQL = """
INSERT INTO payout (id, merchant, amount, currency, status, scenario, destination, next_action_at)
SELECT $2 || lpad(to_hex(g), 12, '0'), $1 || lpad(to_hex(1 + (g - 1) / 100), 12, '0'), 100, 'PKR', 'processing',
       'success', jsonb_build_object('pad', repeat('x', 1500)),
       CASE WHEN g % 2 = 0 THEN now() - random() * interval '1 hour' END
  FROM generate_series(1, 3000) g
"""


async def test_the_claim_walks_the_due_index_when_the_payouts_lie_in_merchant_order(stack):
    """v02 of the function read these through the merchants' due index (merchant,
    next_action_at) and sorted them: with the merchant's column in the table's order and
    few rows a page, the planner reckoned that cheaper than the walk (33,842 against
    35,013 on PostgreSQL 18.6), both costed as a read of every due row. A fresh clone's
    suite run planned it so once (seed 1935480166). v03 allows no sort."""
    clock = ordered_hex()[:12]
    conn = await asyncpg.connect(stack.database_url, server_settings=WORKER_SERVER_SETTINGS)
    try:
        # Rolled back: the rows and their statistics go (their dead pages stay until a vacuum).
        tx = conn.transaction()
        await tx.start()
        try:
            await conn.execute(_MERCHANTS_SQL, f"mch_{clock}")
            await conn.execute(_WIDE_PAYOUTS_SQL, f"mch_{clock}", f"po_{clock}")
            await conn.execute("ANALYZE payout")
            plans = await claim_plans_on(conn, 3)
            said = "\n".join(plans) + "\n" + await _statistics_on(conn)
            assert len(plans) == 3, said
            for plan in plans:
                assert "Index Scan using payout_next_action on payout" in plan, said
                assert "Sort" not in plan and "Bitmap" not in plan and "Seq Scan" not in plan, said
        finally:
            await tx.rollback()
    finally:
        await conn.close()


async def _statistics(dsn: str) -> str:
    """What the planner knew of the payout table and its indexes, for a failure's message:
    the plan is the planner's choice from them, and they depend on the tests run before."""
    conn = await asyncpg.connect(dsn)
    try:
        return await _statistics_on(conn)
    finally:
        await conn.close()


async def _statistics_on(conn: asyncpg.Connection) -> str:
    """The same, as `conn` sees them (inside its transaction)."""
    rows = await conn.fetch("SELECT relname, reltuples, relpages FROM pg_class"
                            " WHERE relname = 'payout' OR relname LIKE 'payout\\_%' AND relkind = 'i'")
    live = (await conn.fetch("SELECT count(*) AS rows, count(next_action_at) AS due FROM payout"))[0]
    correlation = await conn.fetch("SELECT attname, correlation FROM pg_stats WHERE tablename = 'payout'"
                                   " AND attname IN ('id', 'merchant', 'next_action_at')")
    return (f"payout now: {dict(live)}; pg_class: {[dict(r) for r in rows]};"
            f" correlation: {[dict(r) for r in correlation]}")


async def test_a_claim_among_given_payouts_looks_them_up_by_key(stack):
    """Whatever the statistics say when the worker's connection plans it: v02 of the
    function leaves the planner no index but the key there. v01 walked the due index with
    the statistics this suite's shared database had reached (fresh-clone runs of 28 Nov:
    25 payouts due of 448), and in a database holding 450 payouts with the 5 lowest ids
    due, analyzed; a generic plan keeps such a walk for the connection's life."""
    plans = await _claim_plans(stack.database_url, WORKER_SERVER_SETTINGS, only=["po_a", "po_b"])
    assert len(plans) == 8
    for plan in plans:
        said = f"{plan}\n{await _statistics(stack.database_url)}"
        assert "Index Scan using payout_pkey on payout" in plan, said
        # Neither due index (the walk) nor the merchant's payouts (all of them, at every claim).
        assert "payout_next_action" not in plan and "payout_merchant" not in plan, said
        assert "Bitmap" not in plan and "Seq Scan" not in plan, said


async def test_the_workers_claim_is_planned_once_not_on_every_call(stack):
    # A generic plan compares with the function's parameter ($1); a plan made for the
    # moment's values, with the time itself.
    generic = await _claim_plans(stack.database_url, WORKER_SERVER_SETTINGS)
    assert all("next_action_at <= $1" in plan for plan in generic)
    # Without the setting PostgreSQL plans the first calls for their values (and goes on
    # doing so whenever such a plan looks cheaper than the generic one).
    custom = await _claim_plans(stack.database_url, None)
    assert sum("next_action_at <= $1" not in plan for plan in custom) >= 5
