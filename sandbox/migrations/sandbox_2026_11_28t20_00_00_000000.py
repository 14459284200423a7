"""Two indexes that held rows no query asks them for, each made partial.

- `webhook_delivery_endpoint` (every delivery by endpoint) becomes
  `webhook_delivery_pending_endpoint`, of the pending ones alone: closing an endpoint's
  pending deliveries (`status = 'pending'`) is the one query that looks deliveries up by
  endpoint (a parked one's un-parking has `webhook_delivery_parked`). A delivery is
  written twice, made and then finished, and its finishing write is not a HOT update
  (`next_attempt_at`, in the due index, changes): each write put an entry of this index
  in the WAL; a finished delivery is no entry of it now, and the index holds the
  backlog, not the history.
- `payout_psp_reference_key` (the UNIQUE constraint, NULLs included) becomes the unique
  `payout_psp_reference` where the reference is set: a payout is made without one, and
  its entry for NULL was written on every insert and again on its step's update. A
  lookup by reference (`psp_reference = $1`) implies it is set.

Measured in the cost bench's window (docs/benchmark.md): about 400 WAL bytes a payout
fewer."""

ID = "2026-11-28T20:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "webhook_delivery's endpoint index of pending deliveries; payout's psp_reference unique where set"

FORWARDS = [
    "CREATE INDEX webhook_delivery_pending_endpoint ON webhook_delivery (endpoint) WHERE status = 'pending'",
    "DROP INDEX IF EXISTS webhook_delivery_endpoint",
    "CREATE UNIQUE INDEX payout_psp_reference ON payout (psp_reference) WHERE psp_reference IS NOT NULL",
    "ALTER TABLE payout DROP CONSTRAINT IF EXISTS payout_psp_reference_key",
]

BACKWARDS = [
    "ALTER TABLE payout ADD CONSTRAINT payout_psp_reference_key UNIQUE (psp_reference)",
    "DROP INDEX IF EXISTS payout_psp_reference",
    "CREATE INDEX webhook_delivery_endpoint ON webhook_delivery (endpoint)",
    "DROP INDEX IF EXISTS webhook_delivery_pending_endpoint",
]


async def forwards():
    from sandbox.db import sql_migration

    return sql_migration(ID, DESCRIPTION, FORWARDS, BACKWARDS)
