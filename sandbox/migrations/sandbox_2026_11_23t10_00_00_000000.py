"""The ledger's and the outbox's interfaces as database functions, so a payout statement
calls them instead of splicing their SQL (still one statement, one round trip):

- `ledger_post(merchant, kind, payout_id, at, buckets, amounts)` applies one ledger
  transaction: the guarded balance update (it takes the balance row lock and matches no
  row when a bucket would go negative), the transaction row and its legs, the merchant's
  legs numbered with the next gapless per-merchant seqs (the `external` leg has none).
  It returns the transaction id and the buckets after it, or no row when refused.
- `outbox_emit(id, merchant, type, payout_id, data, at)` writes one outbox event.

The balanced-transaction constraint trigger and the buckets' CHECKs stay the last guard."""

from sandbox.sql import versions

ID = "2026-11-23T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "ledger_post and outbox_emit functions"

FORWARDS = [*versions.load("ledger_post", 1), *versions.load("outbox_emit", 1)]

BACKWARDS = [
    *versions.drop("outbox_emit"),
    *versions.drop("ledger_post"),
]


async def forwards():
    from sandbox.db import sql_migration

    return sql_migration(ID, DESCRIPTION, FORWARDS, BACKWARDS)
