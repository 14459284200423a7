"""The request_log table: writing entries, reading a merchant's, pruning old ones."""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg

from sandbox import db

COLUMNS = ("id", "merchant", "at", "method", "route", "path", "status", "duration_ms", "idempotency_key",
           "idempotency_outcome", "fault", "object_ids", "request_headers", "response_headers", "request_body",
           "response_body", "request_body_size", "response_body_size")
NO_RECORD = (None,) * len(COLUMNS)  # `request_log_insert`'s arguments when there is nothing to write
# `request_log_insert` (sandbox/sql/) names the columns, for this and `payout_create`.
_INSERT_SQL = f"SELECT request_log_insert({', '.join(f'${i}' for i in range(1, len(COLUMNS) + 1))})"


async def insert(record: tuple) -> None:
    """One entry, in the caller's transaction (a mutating request's, with its effect)."""
    await db.execute(_INSERT_SQL, *record)


async def insert_many(records: list[tuple]) -> None:
    """Entries written after their answers, in one COPY."""
    async with db.conn() as connection:
        await connection.copy_records_to_table("request_log", records=records, columns=COLUMNS)


_SELECT = "SELECT number, " + ", ".join(COLUMNS) + " FROM request_log"


async def newest_first(merchant_id: str, *, before: int | None, fetch: int, idempotency_key: str | None = None,
                       method: str | None = None, path: str | None = None, status: int | None = None,
                       since: datetime | None = None, object_id: str | None = None) -> list[asyncpg.Record]:
    """The merchant's entries matching every filter given, newest first (through the
    (merchant, number) index; a merchant has at most the retention's count of rows)."""
    return await db.fetch(
        _SELECT + " WHERE merchant = $1 AND ($2::bigint IS NULL OR number < $2)"
        " AND ($3::varchar IS NULL OR idempotency_key = $3) AND ($4::varchar IS NULL OR method = $4)"
        " AND ($5::text IS NULL OR starts_with(path, $5)) AND ($6::int IS NULL OR status = $6)"
        " AND ($7::timestamptz IS NULL OR at >= $7) AND ($8::text IS NULL OR $8 = ANY (object_ids))"
        " ORDER BY number DESC LIMIT $9",
        merchant_id, before, idempotency_key, method, path, status, since, object_id, fetch,
    )


async def one(merchant_id: str, request_id: str) -> asyncpg.Record | None:
    """The entry with this X-Request-ID (the newest, should a client have reused one)."""
    return await db.fetchrow(_SELECT + " WHERE merchant = $1 AND id = $2 ORDER BY number DESC LIMIT 1",
                             merchant_id, request_id)


# What the verdict reads of each entry: no headers, no bodies (10,000 entries with two 64 KB
# bodies each would be over a gigabyte in the API process).
_FACTS = ("SELECT number, id, at, method, route, path, status, idempotency_key, idempotency_outcome, fault, object_ids"
          " FROM request_log"
          " WHERE merchant = $1 ORDER BY number")


async def all_of(merchant_id: str) -> list[asyncpg.Record]:
    """Every entry of the merchant, oldest first, without its headers and bodies (the
    verdict reads them all)."""
    return await db.fetch(_FACTS, merchant_id)


# Retention, by index only: rows past the age through the BRIN index on logged_at; a
# merchant's rows beyond its last `keep` from (merchant, number), for the merchants that
# wrote since the last pass (found from the primary key, new rows only).
_OLD_SQL = ("DELETE FROM request_log WHERE number IN (SELECT number FROM request_log WHERE logged_at < $1"
            " LIMIT $2)")
_WRITERS_SQL = "SELECT DISTINCT merchant FROM request_log WHERE number > $1"
_LAST_SQL = "SELECT max(number) FROM request_log"
_CUT_SQL = "SELECT number FROM request_log WHERE merchant = $1 ORDER BY number DESC OFFSET $2 LIMIT 1"
_BEYOND_SQL = ("DELETE FROM request_log WHERE number IN (SELECT number FROM request_log WHERE merchant = $1"
               " AND number <= $2 ORDER BY number LIMIT $3)")


async def prune(older_than: timedelta, keep: int, since_number: int, batch: int = 5_000) -> tuple[int, int]:
    """Delete old rows and rows beyond each recent writer's last `keep`, `batch` rows a
    statement. Returns (rows deleted, the newest number seen: the next pass's `since_number`)."""
    deleted = 0
    cutoff = await db.fetchval("SELECT now() - $1::interval", older_than)
    while (n := int((await db.execute(_OLD_SQL, cutoff, batch)).split()[-1])) > 0:
        deleted += n
    last = await db.fetchval(_LAST_SQL) or 0
    for row in await db.fetch(_WRITERS_SQL, since_number):
        cut = await db.fetchval(_CUT_SQL, row["merchant"], keep)
        if cut is None:
            continue
        while (n := int((await db.execute(_BEYOND_SQL, row["merchant"], cut, batch)).split()[-1])) > 0:
            deleted += n
    return deleted, last
