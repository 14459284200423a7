"""Which references PostgreSQL checks: the money's always; the webhook queue's not (their
writers read what they name in the same transaction, and nothing named is ever deleted:
migration 2026-11-26T21:00)."""

from __future__ import annotations

import asyncpg

_CHECKED_SQL = """
SELECT c.conrelid::regclass::text || '.' || a.attname AS reference
  FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey)
 WHERE c.contype = 'f'
"""

MONEY = {"payout.merchant", "balance.merchant", "ledger_transaction.merchant", "ledger_entry.merchant",
         "ledger_entry.transaction"}
QUEUE = {"outbox_event.merchant", "webhook_delivery.merchant", "webhook_delivery.event",
         "webhook_delivery.endpoint", "webhook_attempt.delivery"}


async def test_the_money_references_are_checked_and_the_webhook_queues_are_not(stack):
    conn = await asyncpg.connect(stack.database_url)
    try:
        checked = {r["reference"] for r in await conn.fetch(_CHECKED_SQL)}
    finally:
        await conn.close()
    assert MONEY <= checked, f"unchecked: {sorted(MONEY - checked)}"
    assert not QUEUE & checked, f"still checked: {sorted(QUEUE & checked)}"
