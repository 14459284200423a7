"""The ledger's interface: what each kind of transaction does to the buckets (`KINDS`),
and `ledger_post(...)`, the database function that applies one (see its migration): it
locks the balance row, checks no bucket goes negative, updates the buckets and writes
the transaction with legs that sum to zero, inside the caller's transaction. A caller
that writes more in the same round trip (a payout) calls `ledger_post` inside its own
statement with the arguments of a `Posting`, then `after_posting`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NoReturn

from sandbox import db
from sandbox.core.clock import now
from sandbox.core.errors import InsufficientFunds, NotFound
from sandbox.ledger import version

MERCHANT_BUCKETS = ("available", "locked", "pending")

# Ledger transaction kinds and what each does to the merchant's buckets, as multiples of
# the amount. The `external` leg (the world outside the sandbox: the bank, the payer) is
# whatever makes the transaction sum to zero.
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


@dataclass(frozen=True, slots=True)
class Posting:
    """One ledger transaction to apply: `args()` are `ledger_post`'s arguments, in order
    (merchant, kind, payout_id, at, buckets, amounts)."""

    merchant_id: str
    kind: str
    payout_id: str | None
    at: datetime
    buckets: list[str]
    amounts: list[int]

    def args(self) -> tuple:
        return self.merchant_id, self.kind, self.payout_id, self.at, self.buckets, self.amounts


def many_args(postings: list[Posting]) -> tuple[list[str], list[str | None], list[list[str | None]], list[list[int]]]:
    """`ledger_post_many`'s per-posting arguments, in order: kinds, payout ids, buckets and
    amounts (two-dimensional: a posting with fewer legs than the widest is padded with
    NULL buckets)."""
    width = max(len(p.buckets) for p in postings)
    return ([p.kind for p in postings], [p.payout_id for p in postings],
            [[*p.buckets, *[None] * (width - len(p.buckets))] for p in postings],
            [[*p.amounts, *[0] * (width - len(p.amounts))] for p in postings])


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


def posting(merchant_id: str, kind: str, amount: int, payout_id: str | None, at: datetime) -> Posting:
    """A `kind` movement of `amount` (minor units, > 0)."""
    if amount <= 0:
        raise ValueError("amount must be positive")
    entries = legs(kind, amount)
    return Posting(merchant_id, kind, payout_id, at, [b for b, _ in entries], [a for _, a in entries])


async def refused(merchant_id: str) -> NoReturn:
    """Raise why a posting matched no balance row: no balance, or a bucket would go negative."""
    exists = await db.fetchval("SELECT 1 FROM balance WHERE merchant = $1", merchant_id)
    if not exists:
        raise NotFound("No balance for this merchant")
    raise InsufficientFunds("The available balance does not cover this amount")


async def after_posting(merchant_id: str, matched: bool) -> None:
    """What follows every call of `ledger_post` (here, or inside a larger statement such
    as a payout's): why it was refused when it returned no row, else the merchant's
    ledger version bumped once the transaction commits (the balance summary's cache
    follows it)."""
    if not matched:
        await refused(merchant_id)
    await version.bump_after_commit(merchant_id)


_POST_SQL = "SELECT transaction_id, available, locked, pending FROM ledger_post($1, $2, $3, $4, $5, $6)"


async def post(merchant_id: str, kind: str, amount: int, payout_id: str | None = None,
               at: datetime | None = None) -> Posted:
    """Apply a `kind` movement of `amount` (minor units, > 0). Raises InsufficientFunds
    when a bucket would go negative (then nothing was written)."""
    row = await db.fetchrow(_POST_SQL, *posting(merchant_id, kind, amount, payout_id, at or now()).args())
    await after_posting(merchant_id, row is not None)
    assert row is not None  # else after_posting raised why
    return Posted(row["transaction_id"], row["available"], row["locked"], row["pending"])


async def post_many(merchant_id: str, at: datetime, postings: list[Posting]) -> None:
    """Apply postings of one merchant made at `at`, in order, in one call
    (`ledger_post_many`: one update of the balance row). All or nothing: raises
    InsufficientFunds when any of them would leave a bucket negative."""
    if not postings:
        return
    posted = await db.fetchval("SELECT count(*) FROM ledger_post_many($1, $2, $3, $4, $5, $6)",
                               *post_many_args(merchant_id, at, postings))
    await after_posting(merchant_id, posted == len(postings))


def post_many_args(merchant_id: str, at: datetime, postings: list[Posting]) -> tuple:
    """`ledger_post_many`'s arguments for `post_many`, for a caller that calls it inside a
    larger statement (then `after_posting`, with whether it returned a row a posting)."""
    return merchant_id, at, *many_args(postings)


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
