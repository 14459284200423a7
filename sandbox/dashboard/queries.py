"""Reads the dashboard needs that no API route serves in this shape. Read-only: every
change the dashboard makes goes through the same service functions as the API."""

from __future__ import annotations

import asyncpg

from sandbox import db
from sandbox.payouts.store import repository as payout_rows


async def merchant_name(merchant_id: str) -> str | None:
    return await db.fetchval("SELECT name FROM merchant WHERE id = $1", merchant_id)


async def merchants(limit: int = 200, team: str | None = None) -> list[asyncpg.Record]:
    """Every merchant (of `team`, a team key's, when given; newest first) with its buckets
    and open payouts."""
    return await payout_rows.merchants_overview(limit, team)


async def payout_ledger(payout_id: str, merchant_id: str) -> list[asyncpg.Record]:
    """The ledger entries a payout caused in its merchant's buckets, in order."""
    return await db.fetch(
        "SELECT e.seq, e.transaction AS transaction_id, e.bucket, e.amount, e.kind, e.created_at"
        " FROM ledger_transaction t JOIN ledger_entry e ON e.transaction = t.id"
        " WHERE t.payout_id = $1 AND t.merchant = $2 AND e.seq IS NOT NULL ORDER BY e.seq",
        payout_id,
        merchant_id,
    )
