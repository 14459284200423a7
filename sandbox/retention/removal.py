"""Which merchants are idle past the retention period, and removing one wholly.

Idle: not marked `keep`, and its last activity (`merchant_activity.at`, real time) is older
than the period. The dry run (GET /admin/retention) and the worker's sweep ask the same
query (`idle`), so the dry run lists exactly what the next sweeps remove, oldest first.

A merchant is removed in one transaction, with every row that is its own, table by table
(REMOVAL, in an order that leaves no row pointing at a removed one). The ledger is
append-only by a trigger (`ledger_entry_append_only`); its function (sandbox/sql/
ledger_is_append_only/v02.sql) lets a transaction delete the ledger rows of the one
merchant it names in the transaction-local setting `sandbox.removing_merchant`, and no
other row. So every merchant that remains keeps all its entries, and each of its buckets
still equals their sum.

`remove` takes an id and reads the merchant again under its row lock: a merchant that is
gone, was marked `keep` or was active since it was picked is left alone, so running the
sweep twice (or two workers at once) removes nothing twice and nothing it should not."""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg

from sandbox import db
from sandbox.core.clock import wall_now

# Every table that holds a merchant's rows, and how its rows are found ($1: the merchant's
# id). tests/retention/test_removal.py checks that this list covers every table of the
# schema with a `merchant` column.
REMOVAL: list[tuple[str, str]] = [
    ("outbox_unrelayed", "DELETE FROM outbox_unrelayed WHERE number IN"
                         " (SELECT number FROM outbox_event WHERE merchant = $1)"),
    ("webhook_attempt", "DELETE FROM webhook_attempt WHERE delivery IN"
                        " (SELECT id FROM webhook_delivery WHERE merchant = $1)"),
    ("webhook_delivery", "DELETE FROM webhook_delivery WHERE merchant = $1"),
    ("outbox_event", "DELETE FROM outbox_event WHERE merchant = $1"),
    ("webhook_audit", "DELETE FROM webhook_audit WHERE merchant = $1"),
    ("webhook_endpoint", "DELETE FROM webhook_endpoint WHERE merchant = $1"),
    ("request_log", "DELETE FROM request_log WHERE merchant = $1"),
    ("fault_rule", "DELETE FROM fault_rule WHERE merchant = $1"),
    ("merchant_scenario", "DELETE FROM merchant_scenario WHERE merchant = $1"),
    ("idempotency_key", "DELETE FROM idempotency_key WHERE scope = $1"),
    ("ipn_notification", "DELETE FROM ipn_notification WHERE psp_reference IN"
                         " (SELECT psp_reference FROM payout WHERE merchant = $1 AND psp_reference IS NOT NULL)"),
    ("payout_batch_item", "DELETE FROM payout_batch_item WHERE batch IN"
                          " (SELECT id FROM payout_batch WHERE merchant = $1)"),
    ("payout_batch", "DELETE FROM payout_batch WHERE merchant = $1"),
    ("collection", "DELETE FROM collection WHERE merchant = $1"),
    ("settlement", "DELETE FROM settlement WHERE merchant = $1"),
    ("ledger_entry", "DELETE FROM ledger_entry WHERE merchant = $1"),
    ("ledger_transaction", "DELETE FROM ledger_transaction WHERE merchant = $1"),
    ("payout", "DELETE FROM payout WHERE merchant = $1"),
    ("balance", "DELETE FROM balance WHERE merchant = $1"),
    ("merchant_clock", "DELETE FROM merchant_clock WHERE merchant = $1"),
    ("merchant_error_count", "DELETE FROM merchant_error_count WHERE merchant = $1"),
    ("merchant_activity", "DELETE FROM merchant_activity WHERE merchant = $1"),
    ("api_key", "DELETE FROM api_key WHERE merchant = $1"),
    ("merchant", "DELETE FROM merchant WHERE id = $1"),
]

_IDLE_SQL = """
SELECT m.id, m.name, m.team, a.at AS last_active_at
  FROM merchant m JOIN merchant_activity a ON a.merchant = m.id
 WHERE NOT m.keep AND a.at < $1 AND ($2::varchar IS NULL OR m.team = $2)
 ORDER BY a.at, m.id
 LIMIT $3"""


def cutoff(idle_days: float) -> datetime:
    """Merchants last active before this are idle."""
    return wall_now() - timedelta(days=idle_days)


async def idle(before: datetime, limit: int, team: str | None = None) -> list[asyncpg.Record]:
    """Up to `limit` idle merchants (of `team`, when given), longest idle first."""
    return await db.fetch(_IDLE_SQL, before, team, limit)


async def remove(merchant_id: str, before: datetime) -> dict[str, int] | None:
    """Remove the merchant and everything that is its own, if it is still idle (last active
    before `before`) and not kept; the rows removed per table, or None when it was left."""
    async with db.transaction():
        still_idle = await db.fetchval(
            "SELECT 1 FROM merchant m JOIN merchant_activity a ON a.merchant = m.id"
            " WHERE m.id = $1 AND NOT m.keep AND a.at < $2 FOR UPDATE OF m, a", merchant_id, before)
        if not still_idle:
            return None
        # The one merchant whose ledger rows this transaction may delete (v02 of the trigger).
        await db.execute("SELECT set_config('sandbox.removing_merchant', $1, true)", merchant_id)
        removed = {}
        for table, statement in REMOVAL:
            removed[table] = int((await db.execute(statement, merchant_id)).split()[-1])
        await db.execute("SELECT set_config('sandbox.removing_merchant', '', true)")
    return removed


async def sweep(idle_days: float, batch: int) -> list[str]:
    """One bounded pass: up to `batch` idle merchants removed, each in its own transaction;
    the ids removed. A period of 0 turns retention off."""
    if idle_days <= 0:
        return []
    before = cutoff(idle_days)
    gone = []
    for row in await idle(before, batch):
        if await remove(row["id"], before) is not None:
            gone.append(row["id"])
    return gone
