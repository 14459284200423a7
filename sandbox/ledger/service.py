"""The one place money moves: lock the balance row, check the rule, update the buckets
and write a ledger transaction whose legs sum to zero — in a single statement, inside
the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sandbox import db
from sandbox.core.clock import now
from sandbox.core.errors import InsufficientFunds, NotFound
from sandbox.summary import cache as summary_cache

MERCHANT_BUCKETS = ("available", "locked", "pending")

# Ledger transaction kinds and what each does to the buckets, as multiples of the amount.
# Double entry: every transaction sums to zero, so the `external` leg is whatever
# balances the merchant's legs below.
KINDS: dict[str, dict[str, int]] = {
    "payout_created": {"available": -1, "locked": +1},
    "payout_reinitiated": {"available": -1, "locked": +1},
    "payout_succeeded": {"locked": -1},
    "payout_released": {"available": +1, "locked": -1},  # failed / rejected / cancelled
    "payout_returned": {"available": +1},
    "topup": {"available": +1},
    "opening_balance": {"available": +1},
    "collection_created": {"pending": +1},
    "collection_settled": {"available": +1, "pending": -1},
    "collection_declined": {"pending": -1},
}

# One round trip: the guarded UPDATE takes the row lock and re-checks every bucket;
# if any would go negative it matches no row and nothing else is written.
# Callers that write more in the same round trip (payout creation) append their own CTEs
# reading `b` (so they write nothing when the rule refused) and their own final SELECT;
# parameters $1..$11 are the posting's (see `posting_args`).
POST_CTES = """
WITH b AS (
    UPDATE balance
       SET available = available + $2, locked = locked + $3, pending = pending + $4,
           last_seq = last_seq + $5, updated_at = $9
     WHERE merchant = $1 AND available + $2 >= 0 AND locked + $3 >= 0 AND pending + $4 >= 0
    RETURNING available, locked, pending, last_seq
), t AS (
    INSERT INTO ledger_transaction (merchant, kind, payout_id, created_at)
    SELECT $1, $6, $7, $9 FROM b
    RETURNING id
), e AS (
    INSERT INTO ledger_entry (transaction, merchant, bucket, amount, seq, kind, payout_id, created_at)
    SELECT t.id, $1, leg.bucket, leg.amount,
           CASE WHEN leg.bucket = 'external' THEN NULL ELSE b.last_seq - $5 + leg.ord END,
           $6, $7, $9
      FROM t, b, unnest($8::text[], $10::bigint[], $11::int[]) AS leg(bucket, amount, ord)
)
"""
_POST_SQL = POST_CTES + "SELECT b.available, b.locked, b.pending, t.id AS transaction_id FROM b, t"


@dataclass(frozen=True, slots=True)
class Posted:
    transaction_id: int
    available: int
    locked: int
    pending: int


def legs(kind: str, amount: int) -> list[tuple[str, int]]:
    """The legs of a transaction of this kind, merchant buckets first, `external` last."""
    rule = KINDS[kind]
    out = [(bucket, factor * amount) for bucket, factor in rule.items()]
    rest = -sum(a for _, a in out)
    if rest:
        out.append(("external", rest))
    return out


def posting_args(merchant_id: str, kind: str, amount: int, payout_id: str | None, at: datetime) -> list:
    """Parameters $1..$11 of POST_CTES for a `kind` movement of `amount` (minor units, > 0)."""
    if amount <= 0:
        raise ValueError("amount must be positive")
    entries = legs(kind, amount)
    delta = {bucket: 0 for bucket in MERCHANT_BUCKETS}
    ords: list[int] = []
    n = 0
    for bucket, value in entries:
        if bucket == "external":
            ords.append(0)
        else:
            delta[bucket] += value
            n += 1
            ords.append(n)
    return [merchant_id, delta["available"], delta["locked"], delta["pending"], n, kind, payout_id,
            [b for b, _ in entries], at, [a for _, a in entries], ords]


async def refused(merchant_id: str) -> None:
    """Raise why a posting matched no balance row: no balance, or a bucket would go negative."""
    exists = await db.fetchval("SELECT 1 FROM balance WHERE merchant = $1", merchant_id)
    if not exists:
        raise NotFound("No balance for this merchant")
    raise InsufficientFunds("The available balance does not cover this amount")


async def after_posting(merchant_id: str, matched: bool) -> None:
    """What follows every statement built on POST_CTES (here, or inside a larger statement
    such as a payout's): why it was refused when it matched no balance row, else the
    merchant's cached summary dropped once the transaction commits."""
    if not matched:
        await refused(merchant_id)
    await summary_cache.invalidate_after_commit(merchant_id)


async def post(merchant_id: str, kind: str, amount: int, payout_id: str | None = None,
               at: datetime | None = None) -> Posted:
    """Apply a `kind` movement of `amount` (minor units, > 0). Raises InsufficientFunds
    when a bucket would go negative (then nothing was written)."""
    row = await db.fetchrow(_POST_SQL, *posting_args(merchant_id, kind, amount, payout_id, at or now()))
    await after_posting(merchant_id, row is not None)
    return Posted(row["transaction_id"], row["available"], row["locked"], row["pending"])


async def open_balance(merchant_id: str, at: datetime | None = None) -> None:
    await db.execute(
        "INSERT INTO balance (merchant, currency, available, locked, pending, last_seq, updated_at)"
        " VALUES ($1, 'PKR', 0, 0, 0, 0, $2) ON CONFLICT (merchant) DO NOTHING",
        merchant_id,
        at or now(),
    )


async def get_balance(merchant_id: str):
    row = await db.fetchrow(
        "SELECT currency, available, locked, pending, last_seq FROM balance WHERE merchant = $1", merchant_id
    )
    if row is None:
        raise NotFound("No balance for this merchant")
    return row


async def history(merchant_id: str, *, since_seq: int | None, before_seq: int | None, limit: int):
    """Ledger entries of the merchant's own buckets. With `since_seq`: oldest first,
    seq > since_seq (a polling feed; per-merchant seqs are gapless and in commit order).
    Otherwise newest first, seq < before_seq."""
    base = (
        "SELECT e.seq, e.transaction AS transaction_id, e.bucket, e.amount, e.kind, e.payout_id, e.created_at"
        " FROM ledger_entry e WHERE e.merchant = $1 AND e.seq IS NOT NULL"
    )
    if since_seq is not None:
        return await db.fetch(base + " AND e.seq > $2 ORDER BY e.seq ASC LIMIT $3", merchant_id, since_seq, limit + 1)
    if before_seq is not None:
        return await db.fetch(base + " AND e.seq < $2 ORDER BY e.seq DESC LIMIT $3", merchant_id, before_seq, limit + 1)
    return await db.fetch(base + " ORDER BY e.seq DESC LIMIT $2", merchant_id, limit + 1)


async def check_invariant(merchant_id: str | None = None, conn=None) -> list[str]:
    """Every problem found: a bucket that differs from the sum of its entries, or a
    ledger transaction that does not sum to zero. Empty means the books balance.
    `conn`: an asyncpg connection to use instead of the process's pool."""
    fetch = conn.fetch if conn is not None else db.fetch
    problems: list[str] = []
    rows = await fetch(
        """
        SELECT b.merchant, b.available, b.locked, b.pending, b.last_seq,
               COALESCE(SUM(e.amount) FILTER (WHERE e.bucket = 'available'), 0) AS sum_available,
               COALESCE(SUM(e.amount) FILTER (WHERE e.bucket = 'locked'), 0) AS sum_locked,
               COALESCE(SUM(e.amount) FILTER (WHERE e.bucket = 'pending'), 0) AS sum_pending,
               COUNT(e.seq) AS entries, COALESCE(MAX(e.seq), 0) AS max_seq
          FROM balance b LEFT JOIN ledger_entry e ON e.merchant = b.merchant
         WHERE $1::varchar IS NULL OR b.merchant = $1
         GROUP BY b.merchant
        """,
        merchant_id,
    )
    for r in rows:
        for bucket in MERCHANT_BUCKETS:
            if r[bucket] != r[f"sum_{bucket}"]:
                problems.append(f"{r['merchant']}: {bucket} is {r[bucket]} but its entries sum to {r[f'sum_{bucket}']}")
        if not (r["entries"] == r["max_seq"] == r["last_seq"]):
            problems.append(
                f"{r['merchant']}: seq gap (entries {r['entries']}, max {r['max_seq']}, last {r['last_seq']})"
            )
    unbalanced = await fetch(
        "SELECT e.transaction, SUM(e.amount) AS total FROM ledger_entry e"
        " WHERE $1::varchar IS NULL OR e.merchant = $1 GROUP BY e.transaction HAVING SUM(e.amount) <> 0",
        merchant_id,
    )
    problems.extend(f"ledger transaction {r['transaction']} sums to {r['total']}" for r in unbalanced)
    return problems
