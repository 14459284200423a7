"""Payout batches: reading them (counts per status, computed from the items and their
payouts, so always current), their items, and asking to retry the failed ones."""

from __future__ import annotations

import asyncpg
import msgspec

from sandbox import db
from sandbox import enqueue as queue
from sandbox.batches.schemas import (
    ITEM_STATUSES,
    BatchRetryAccepted,
    PayoutBatch,
    PayoutBatchItem,
    PayoutBatchItemPage,
)
from sandbox.core.clock import iso
from sandbox.core.errors import NotFound
from sandbox.core.money import format_amount
from sandbox.core.pagination import clamp, cut, decode_cursor
from sandbox.payouts.model import states
from sandbox.payouts.model.states import STATUSES

PROCESS_JOB = "process_payout_batch"
RETRY_JOB = "retry_payout_batch"
COLUMNS = "id, merchant, status, source, filename, total_items, created_at, updated_at, completed_at"


async def counts(batch_id: str) -> dict[str, int]:
    rows = await db.fetch(
        "SELECT COALESCE(p.status, i.status) AS status, count(*) AS n FROM payout_batch_item i"
        " LEFT JOIN payout p ON p.id = i.payout_id WHERE i.batch = $1 GROUP BY 1",
        batch_id,
    )
    out = dict.fromkeys((*ITEM_STATUSES, *STATUSES), 0)
    out.update({r["status"]: r["n"] for r in rows if r["status"] != "created"})
    return out


async def to_api(row: asyncpg.Record) -> PayoutBatch:
    return PayoutBatch(
        id=row["id"], object="payout_batch", status=row["status"], source=row["source"], filename=row["filename"],
        total_items=row["total_items"], counts=await counts(row["id"]), created_at=iso(row["created_at"]),
        updated_at=iso(row["updated_at"]), completed_at=iso(row["completed_at"]) if row["completed_at"] else None,
    )


async def event_data(row: asyncpg.Record) -> dict:
    return msgspec.to_builtins(await to_api(row))


async def get_row(batch_id: str, merchant_id: str | None) -> asyncpg.Record:
    row = await db.fetchrow(
        f"SELECT {COLUMNS} FROM payout_batch WHERE id = $1 AND ($2::varchar IS NULL OR merchant = $2)",
        batch_id, merchant_id,
    )
    if row is None:
        raise NotFound(f"No payout batch {batch_id}")
    return row


async def get(batch_id: str, merchant_id: str) -> PayoutBatch:
    return await to_api(await get_row(batch_id, merchant_id))


async def items_page(batch_id: str, merchant_id: str, *, status: str | None, limit: int,
                     cursor: str | None) -> PayoutBatchItemPage:
    await get_row(batch_id, merchant_id)
    limit = clamp(limit)
    rows = await db.fetch(
        "SELECT i.line, COALESCE(p.status, i.status) AS status, i.reason, i.reference, i.amount, i.payout_id,"
        " i.retry, i.retry_reason FROM payout_batch_item i LEFT JOIN payout p ON p.id = i.payout_id"
        " WHERE i.batch = $1 AND i.line > $2 AND ($3::varchar IS NULL OR COALESCE(p.status, i.status) = $3)"
        " ORDER BY i.line LIMIT $4",
        batch_id, decode_cursor(cursor, "l") or 0, status, limit + 1,
    )
    page = cut(rows, limit, "l", position=lambda r: r["line"])
    return PayoutBatchItemPage(
        data=[PayoutBatchItem(line=r["line"], status=r["status"], reason=r["reason"], reference=r["reference"],
                              amount=format_amount(r["amount"]) if r["amount"] is not None else None,
                              payout_id=r["payout_id"], retry=r["retry"], retry_reason=r["retry_reason"])
              for r in page.rows],
        has_more=page.has_more,
        next_cursor=page.next_cursor,
    )


async def request_retry(batch_id: str, merchant_id: str) -> BatchRetryAccepted:
    """Mark every item whose payout is `failed` and that was never retried; the worker
    re-initiates them. Items already retried are never retried again."""
    await get_row(batch_id, merchant_id)
    marked = await db.fetchval(
        "WITH marked AS (UPDATE payout_batch_item i SET retry = 'requested' FROM payout p"
        " WHERE i.batch = $1 AND i.payout_id = p.id AND p.status = $2 AND i.retry IS NULL RETURNING 1)"
        " SELECT count(*) FROM marked",
        batch_id, states.FAILED.value,
    )
    if marked:
        await db.after_commit(lambda: queue.enqueue(RETRY_JOB, batch_id))
    return BatchRetryAccepted(batch_id=batch_id, requested=marked)
