"""The idempotency rule written once, and the payout row's columns named once.

- `idempotency_claim` (the key's advisory lock, then its stored response, read by
  `idempotency_stored`) and `idempotency_store` (the response kept for a day; false when
  a live one is there) are what the idempotency middleware calls for every mutating
  request, and what `payout_create` calls inside its one round trip.
- `payout_insert` writes a new payout row: `payout_create` and the repository's insert
  call it.
- `payout_create` v02 calls them instead of its own copies."""

from sandbox.sql import versions

ID = "2026-11-24T02:26:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "idempotency_claim, idempotency_store, payout_insert; payout_create calls them"

FORWARDS = [
    *versions.load("idempotency_stored", 1),
    *versions.load("idempotency_claim", 1),
    *versions.load("idempotency_store", 1),
    *versions.load("payout_insert", 1),
    *versions.load("payout_create", 2),
]

BACKWARDS = [
    *versions.load("payout_create", 1),
    *versions.drop("payout_insert"),
    *versions.drop("idempotency_store"),
    *versions.drop("idempotency_claim"),
    *versions.drop("idempotency_stored"),
]


async def forwards():
    from sandbox.db import sql_migration

    return sql_migration(ID, DESCRIPTION, FORWARDS, BACKWARDS)
