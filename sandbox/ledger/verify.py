"""The ledger check a merchant can run (GET /balance/verify): each bucket as the balance
row holds it and as the ledger entries sum it, how many ledger transactions the merchant
has and how many of them do not sum to zero (always 0: the database refuses one). One
statement, so the balance row and the entries are read in the same snapshot."""

from __future__ import annotations

from typing import Annotated

import msgspec

from sandbox import db
from sandbox.core.clock import iso, now
from sandbox.core.errors import NotFound
from sandbox.core.money import format_amount
from sandbox.core.types import said

BUCKETS = ("available", "locked", "pending")

# Every leg of the merchant's transactions counts (the `external` legs too), so a
# transaction's legs sum to zero exactly when it balances. SUM of bigint is numeric in
# PostgreSQL: cast back, so amounts stay integer paisa.
_SQL = """
WITH e AS (
    SELECT transaction, bucket, amount FROM ledger_entry WHERE merchant = $1
), t AS (
    SELECT transaction, SUM(amount) AS total FROM e GROUP BY transaction
)
SELECT b.currency, b.available, b.locked, b.pending,
       (SELECT COALESCE(SUM(amount), 0)::bigint FROM e WHERE bucket = 'available') AS ledger_available,
       (SELECT COALESCE(SUM(amount), 0)::bigint FROM e WHERE bucket = 'locked') AS ledger_locked,
       (SELECT COALESCE(SUM(amount), 0)::bigint FROM e WHERE bucket = 'pending') AS ledger_pending,
       (SELECT COUNT(*) FROM t) AS transactions,
       (SELECT COUNT(*) FROM t WHERE total <> 0) AS unbalanced
  FROM balance b
 WHERE b.merchant = $1
"""


class BucketCheck(msgspec.Struct):
    """One balance bucket, as the balance holds it and as the ledger sums it."""

    balance: Annotated[str, said("The bucket as the balance holds it (what GET /balance shows), a decimal string")]
    ledger: Annotated[str, said("The bucket as the merchant's ledger entries sum it, a decimal string")]
    ok: Annotated[bool, said("The two are equal")]


class LedgerVerification(msgspec.Struct):
    ok: Annotated[bool, said("Every bucket is `ok` and no transaction is unbalanced")]
    currency: Annotated[str, said("The currency (PKR)")]
    available: BucketCheck  # described by its own schema (a field's words would replace them there)
    locked: BucketCheck
    pending: BucketCheck
    ledger_transactions: Annotated[int, said("How many ledger transactions the merchant has")]
    unbalanced_transactions: Annotated[int, said("How many of them do not sum to zero: always 0 (the database "
                                                 "refuses one)")]
    checked_at: Annotated[str, said("When the check ran (RFC 3339, milliseconds), on the merchant's clock")]


async def verify(merchant_id: str) -> LedgerVerification:
    row = await db.fetchrow(_SQL, merchant_id)
    if row is None:
        raise NotFound("The merchant has no balance")
    buckets = {
        b: BucketCheck(balance=format_amount(row[b]), ledger=format_amount(row[f"ledger_{b}"]),
                       ok=row[b] == row[f"ledger_{b}"])
        for b in BUCKETS
    }
    return LedgerVerification(
        ok=all(c.ok for c in buckets.values()) and row["unbalanced"] == 0,
        currency=row["currency"],
        **buckets,
        ledger_transactions=row["transactions"],
        unbalanced_transactions=row["unbalanced"],
        checked_at=iso(now()),
    )
