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
from sandbox.auth.principal import admin_scope
from sandbox.core.clock import wall_now
from sandbox.idempotency.keys import admin_scope_on

# Every table that holds a merchant's rows, and which of its rows are the merchant's ($1:
# its id; $2: its scopes in every admin and team key's idempotency rows, `_admin_scopes`).
# tests/retention/test_removal.py checks that this list covers every table of the schema
# with a `merchant` column. A merchant's rows are removed in this order, which leaves no
# row pointing at a removed one; the dry run counts the same conditions.
REMOVAL: list[tuple[str, str]] = [
    ("outbox_unrelayed", "number IN (SELECT number FROM outbox_event WHERE merchant = $1)"),
    ("webhook_attempt", "delivery IN (SELECT id FROM webhook_delivery WHERE merchant = $1)"),
    ("webhook_delivery", "merchant = $1"),
    ("outbox_event", "merchant = $1"),
    ("webhook_audit", "merchant = $1"),
    ("webhook_endpoint", "merchant = $1"),
    ("request_log", "merchant = $1"),
    ("fault_rule", "merchant = $1"),
    ("merchant_scenario", "merchant = $1"),
    # Its own keys' answers; those of admin and team keys' requests on it (its rate limit,
    # its payouts' reviews); and the answer of the request that made it, which carried its
    # key, kept in the scope of the key that made it.
    ("idempotency_key", "scope = $1 OR scope = ANY($2::text[])"
                        " OR (scope, key) IN (SELECT made_by_scope, made_by_key FROM merchant WHERE id = $1)"),
    ("ipn_notification", "psp_reference IN"
                         " (SELECT psp_reference FROM payout WHERE merchant = $1 AND psp_reference IS NOT NULL)"),
    ("payout_batch_item", "batch IN (SELECT id FROM payout_batch WHERE merchant = $1)"),
    ("payout_batch", "merchant = $1"),
    ("collection", "merchant = $1"),
    ("settlement", "merchant = $1"),
    ("ledger_entry", "merchant = $1"),
    ("ledger_transaction", "merchant = $1"),
    ("payout", "merchant = $1"),
    ("balance", "merchant = $1"),
    ("merchant_clock", "merchant = $1"),
    ("merchant_error_count", "merchant = $1"),
    ("merchant_activity", "merchant = $1"),
    ("api_key", "merchant = $1"),
    ("merchant", "id = $1"),
]
TABLES = [table for table, _ in REMOVAL]
_COUNT_SQL = "SELECT " + ", ".join(f"(SELECT count(*) FROM {t} WHERE {w}) AS {t}" for t, w in REMOVAL)  # noqa: S608


async def admin_keys() -> list[str]:
    """Every admin and team key's id: each keeps its requests on a merchant in a scope of
    their own (`idempotency.keys.admin_scope_on`)."""
    return [r["id"] for r in await db.fetch("SELECT id FROM api_key WHERE role = 'admin'")]


def _admin_scopes(merchant_id: str, admin_key_ids: list[str]) -> list[str]:
    return [admin_scope_on(admin_scope(key_id), merchant_id) for key_id in admin_key_ids]


def _args(where: str, merchant_id: str, scopes: list[str]) -> tuple:
    return (merchant_id, scopes) if "$2" in where else (merchant_id,)


async def rows_of(merchant_id: str, admin_key_ids: list[str]) -> dict[str, int]:
    """What removing the merchant now would remove, table by table (the dry run)."""
    row = await db.fetchrow(_COUNT_SQL, merchant_id, _admin_scopes(merchant_id, admin_key_ids))
    assert row is not None
    return {table: row[table] for table in TABLES}


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


async def remove(merchant_id: str, before: datetime, admin_key_ids: list[str] | None = None) -> dict[str, int] | None:
    """Remove the merchant and everything that is its own, if it is still idle (last active
    before `before`) and not kept; the rows removed per table, or None when it was left.
    Its keys in Redis are `redis_keys`', removed after this commits."""
    if admin_key_ids is None:
        admin_key_ids = await admin_keys()
    scopes = _admin_scopes(merchant_id, admin_key_ids)
    async with db.transaction():
        still_idle = await db.fetchval(
            "SELECT 1 FROM merchant m JOIN merchant_activity a ON a.merchant = m.id"
            " WHERE m.id = $1 AND NOT m.keep AND a.at < $2 FOR UPDATE OF m, a", merchant_id, before)
        if not still_idle:
            return None
        # The one merchant whose ledger rows this transaction may delete (v02 of the trigger).
        await db.execute("SELECT set_config('sandbox.removing_merchant', $1, true)", merchant_id)
        removed = {}
        for table, where in REMOVAL:
            status = await db.execute(f"DELETE FROM {table} WHERE {where}", *_args(where, merchant_id, scopes))  # noqa: S608
            removed[table] = int(status.split()[-1])
        await db.execute("SELECT set_config('sandbox.removing_merchant', '', true)")
    return removed
