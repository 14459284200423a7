"""/metrics costs the same however long the history: payouts, deliveries and attempts
are counted by triggers as rows change, so a scrape reads none of those tables, and
the counts it serves are still exactly the tables' own."""

from __future__ import annotations

import asyncio

from sandbox import db
from sandbox.observability import counts as metric_counts
from tests.helpers import payout_body, wait_for
from tests.observability.test_logs_and_metrics import sample, scrape
from tests.webhooks.helpers import arrivals, endpoint

HISTORY_TABLES = ("payout", "webhook_delivery", "webhook_attempt")
ATTEMPT_OUTCOMES = """
SELECT CASE WHEN status_code BETWEEN 200 AND 299 THEN 'success'
            WHEN status_code IS NOT NULL THEN 'http_' || (status_code / 100)::text || 'xx'
            ELSE 'no_response' END AS label, count(*) AS n
  FROM webhook_attempt GROUP BY 1
"""


async def test_a_scrape_reads_no_history_table(stack, merchant):
    assert (await merchant.post("/payouts", payout_body())).status_code == 201
    # Another session holds every history table exclusively: a query that read one of
    # them would wait until the lock goes; the scrape must answer without it.
    async with db.conn() as c, c.transaction():
        # Taking the lock waits for every other session's transaction on these tables to end:
        # in a whole-suite run (a worker settling another test's payouts) that took longer
        # than the pool's default command timeout once (fresh clone, load 15).
        await c.execute(f"LOCK TABLE {', '.join(HISTORY_TABLES)} IN ACCESS EXCLUSIVE MODE", timeout=120)
        samples = await asyncio.wait_for(scrape(stack), timeout=10)
    assert sample(samples, "sandbox_payouts", status="pending") >= 1


async def test_counts_are_the_tables_own_as_payouts_and_deliveries_move(stack, merchant, worker, receiver):
    await endpoint(merchant, receiver, events=["payout.created"])
    for account in ("12345678900001", "12345678900003", "12345678900005"):  # success, failed, on_hold
        assert (await merchant.post("/payouts", payout_body(account=account))).status_code == 201
    await arrivals(receiver, 3)

    async def agree():
        samples = await scrape(stack)
        wanted = {
            "sandbox_payouts": "SELECT status AS label, count(*) AS n FROM payout GROUP BY status",
            "sandbox_webhook_deliveries": "SELECT status AS label, count(*) AS n FROM webhook_delivery GROUP BY status",
            "sandbox_webhook_attempts_total": ATTEMPT_OUTCOMES,
        }
        for name, sql in wanted.items():
            label = "outcome" if "attempts" in name else "status"
            for row in await db.fetch(sql):
                if sample(samples, name, **{label: row["label"]}) != row["n"]:
                    return None
        return samples

    samples = await wait_for(agree, what="/metrics to show the tables' own counts")
    for status in ("success", "failed", "on_hold"):
        assert sample(samples, "sandbox_payouts", status=status) >= 1, status
    assert sample(samples, "sandbox_webhook_attempts_total", outcome="success") >= 3


async def test_counts_are_folded_even_when_nobody_scrapes(stack, merchant, monkeypatch):
    """The trigger-written deltas do not pile up between scrapes: each process's metrics
    flusher folds them now and then (here at every flush)."""
    monkeypatch.setattr(metric_counts, "FOLD_EVERY_S", 0.0)
    assert (await merchant.post("/payouts", payout_body())).status_code == 201

    async def folded():
        return await db.fetchval("SELECT count(*) FROM metric_count_delta") == 0

    await wait_for(folded, what="the flusher to fold the deltas")


async def test_one_statement_that_moves_many_rows_counts_each_once(stack, merchant, worker, receiver):
    # Payouts' and deliveries' counts are kept once per UPDATE statement: a statement moving
    # a batch moves each status by the batch's net change, and a statement that changes no
    # status (a delivery's lease taken or given back) moves none. Checked in one
    # transaction, folded there and rolled back, so no other test sees the rows changed.
    await endpoint(merchant, receiver)
    for _ in range(2):
        assert (await merchant.post("/payouts", payout_body())).status_code == 201
    await arrivals(receiver, 6)
    moves = {
        "webhook_deliveries": ("webhook_delivery", "failed", "succeeded"),
        "payouts": ("payout", "failed", "success"),
    }
    async with db.conn() as c:
        tx = c.transaction()
        await tx.start()
        try:
            await c.execute("UPDATE webhook_delivery SET lease_until = NULL WHERE merchant = $1", merchant.merchant_id)
            for table, to, was in moves.values():
                moved = await c.fetchval(
                    f"WITH m AS (UPDATE {table} SET status = $2 WHERE merchant = $1 AND status = $3 RETURNING 1)"
                    " SELECT count(*) FROM m", merchant.merchant_id, to, was)
                assert moved >= 2, table
            counted = metric_counts.Counts(await c.fetch(metric_counts._FOLD_SQL))
            tables = {metric: {row["label"]: row["n"] for row in await c.fetch(
                f"SELECT status AS label, count(*) AS n FROM {table} GROUP BY status")}
                for metric, (table, _, _) in moves.items()}
        finally:
            await tx.rollback()
    for metric, table in tables.items():
        assert {k: n for k, n in counted.of(metric).items() if n} == table, metric
