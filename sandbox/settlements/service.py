"""Settlement runs: every collection still `pending` once the settlement interval
(× time scale) has passed is settled (approve: pending → available) or dropped
(decline), each with its ledger transaction, one run per merchant per transaction.
Collections are locked and skipped when already locked, so overlapping or repeated
runs never settle one twice."""

from __future__ import annotations

import logging
from datetime import datetime

import asyncpg
import msgspec

from sandbox import db
from sandbox.core.clock import iso, now, scaled
from sandbox.core.errors import NotFound
from sandbox.core.ids import new_id
from sandbox.core.money import format_amount
from sandbox.core.pagination import clamp, cut, decode_cursor
from sandbox.events import outbox
from sandbox.ledger import service as ledger
from sandbox.settings import get_settings
from sandbox.settlements.schemas import Settlement, SettlementPage

log = logging.getLogger("sandbox.settlements")

RUN_LIMIT = 5000  # collections per run and transaction; the next run takes the rest
COLUMNS = "id, number, settled_count, settled_amount, declined_count, declined_amount, created_at"


def to_api(row: asyncpg.Record) -> Settlement:
    return Settlement(
        id=row["id"], object="settlement", currency="PKR",
        settled_count=row["settled_count"], settled_amount=format_amount(row["settled_amount"]),
        declined_count=row["declined_count"], declined_amount=format_amount(row["declined_amount"]),
        available_change=format_amount(row["settled_amount"]),
        pending_change=format_amount(-(row["settled_amount"] + row["declined_amount"])),
        created_at=iso(row["created_at"]),
    )


async def settle_merchant(merchant_id: str, cutoff: datetime) -> Settlement | None:
    """One run for one merchant: the collections made up to `cutoff`."""
    async with db.transaction():
        due = await db.fetch(
            "SELECT id, amount, outcome FROM collection WHERE merchant = $1 AND status = 'pending'"
            " AND created_at <= $2 ORDER BY number LIMIT $3 FOR UPDATE SKIP LOCKED",
            merchant_id, cutoff, RUN_LIMIT,
        )
        if not due:
            return None
        at = now()
        settlement_id = new_id("stl")
        ids, statuses, transactions = [], [], []
        totals = {"settled": [0, 0], "declined": [0, 0]}
        for c in due:
            status = "settled" if c["outcome"] == "approve" else "declined"
            posted = await ledger.post(merchant_id, f"collection_{status}", c["amount"], None, at)
            ids.append(c["id"])
            statuses.append(status)
            transactions.append(posted.transaction_id)
            totals[status][0] += 1
            totals[status][1] += c["amount"]
        row = await db.fetchone(
            f"INSERT INTO settlement (id, merchant, settled_count, settled_amount, declined_count, declined_amount,"
            f" created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {COLUMNS}",
            settlement_id, merchant_id, *totals["settled"], *totals["declined"], at,
        )
        await db.execute(
            "UPDATE collection c SET status = u.status, settlement = $1, settled_transaction = u.tx, settled_at = $2"
            " FROM unnest($3::varchar[], $4::varchar[], $5::bigint[]) AS u(id, status, tx) WHERE c.id = u.id",
            settlement_id, at, ids, statuses, transactions,
        )
        settlement = to_api(row)
        await outbox.emit(merchant_id, "settlement.completed", msgspec.to_builtins(settlement), None, at)
    return settlement


async def run_due() -> int:
    """Settle every merchant's due collections; returns how many runs were made."""
    cutoff = now() - scaled(get_settings().settlement_interval_s)
    merchants = await db.fetch(
        "SELECT DISTINCT merchant FROM collection WHERE status = 'pending' AND created_at <= $1", cutoff)
    runs = 0
    for m in merchants:
        while await settle_merchant(m["merchant"], cutoff) is not None:
            runs += 1
    if runs:
        log.info("settlement: %d runs", runs)
    return runs


async def get_row(settlement_id: str, merchant_id: str) -> asyncpg.Record:
    row = await db.fetchrow(f"SELECT {COLUMNS} FROM settlement WHERE id = $1 AND merchant = $2",
                            settlement_id, merchant_id)
    if row is None:
        raise NotFound(f"No settlement {settlement_id}")
    return row


async def get(settlement_id: str, merchant_id: str) -> Settlement:
    return to_api(await get_row(settlement_id, merchant_id))


async def list_page(merchant_id: str, *, limit: int, cursor: str | None) -> SettlementPage:
    limit = clamp(limit)
    rows = await db.fetch(
        f"SELECT {COLUMNS} FROM settlement WHERE merchant = $1 AND ($2::bigint IS NULL OR number < $2)"
        " ORDER BY number DESC LIMIT $3",
        merchant_id, decode_cursor(cursor), limit + 1,
    )
    page = cut(rows, limit)
    return SettlementPage(data=[to_api(r) for r in page.rows], has_more=page.has_more, next_cursor=page.next_cursor)


async def report_entries(settlement_id: str, merchant_id: str) -> tuple[asyncpg.Record, list[asyncpg.Record]]:
    """The run and the ledger entries (merchant buckets) of its transactions, in seq order."""
    run = await get_row(settlement_id, merchant_id)
    entries = await db.fetch(
        "SELECT e.seq, e.transaction, e.created_at, e.kind, e.bucket, e.amount, c.id AS collection_id,"
        " c.reference, c.description FROM collection c"
        " JOIN ledger_entry e ON e.transaction = c.settled_transaction AND e.seq IS NOT NULL"
        " WHERE c.settlement = $1 AND c.merchant = $2 ORDER BY e.seq",
        settlement_id, merchant_id,
    )
    return run, entries
