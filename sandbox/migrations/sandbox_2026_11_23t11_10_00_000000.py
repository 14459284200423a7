"""Events name their cause, and creating a payout is one database call.

- `outbox_event.request` holds `{"id", "idempotency_key"}` of the API request that caused
  the event, NULL when the worker, the rail's callback or a clock did. `outbox_emit`
  takes it as a seventh argument that defaults to NULL, so a statement that passes six
  still writes an event without a cause.
- `payout_create(...)` is POST /payouts' common case in one call (one round trip, its own
  transaction): the idempotency key's advisory lock and stored-response lookup, the
  ledger posting that locks the funds, the payout row, its events, and the stored
  response. Its outcome: `in_use` (another request holds the key), `stored` (the key's
  stored response, to replay or refuse), `refused` (the ledger refused the posting;
  nothing written) or `created`."""

from sandbox.sql import versions

ID = "2026-11-23T11:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "outbox_event.request: the API request that caused the event; payout_create"

FORWARDS = [
    "ALTER TABLE outbox_event ADD COLUMN request jsonb NULL",
    *versions.load("outbox_emit", 2),
    *versions.load("payout_create", 1),
]

BACKWARDS = [
    *versions.drop("payout_create"),
    *versions.load("outbox_emit", 1),
    "ALTER TABLE outbox_event DROP COLUMN request",
]


async def forwards():
    from sandbox.db import sql_migration

    return sql_migration(ID, DESCRIPTION, FORWARDS, BACKWARDS)
