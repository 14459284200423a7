"""Every event of a payout carries its place among the payout's events.

- `outbox_event.sequence`: 1, 2, 3, … per payout, in the order its events were written
  (payout.created is 1), with no gaps; 1 for an event about no payout (a batch's or a
  settlement's only event). Webhooks arrive in any order, and at time scale 0 several
  moves share a moment: a receiver keeps the newest by this number. The events written
  before this migration are numbered in the order they were written (`number`).
- A unique index on (payout_id, sequence) replaces the index on payout_id (GET
  /events?payout_id= reads it the same way): two events of one payout never share a number.
- `outbox_emit` v03 assigns it, in the statement that writes the event."""

from sandbox.sql import versions

ID = "2026-11-25T18:43:17:000000"
VERSION = "1.38.0"
DESCRIPTION = "outbox_event.sequence: each event's place among its payout's events"

FORWARDS = [
    "ALTER TABLE outbox_event ADD COLUMN sequence integer NULL",
    """
    UPDATE outbox_event e SET sequence = CASE WHEN e.payout_id IS NULL THEN 1 ELSE n.sequence END
      FROM (SELECT id, row_number() OVER (PARTITION BY payout_id ORDER BY number) AS sequence
              FROM outbox_event) AS n
     WHERE n.id = e.id
    """,
    "ALTER TABLE outbox_event ALTER COLUMN sequence SET NOT NULL",
    "CREATE UNIQUE INDEX outbox_event_payout_sequence ON outbox_event (payout_id, sequence)",
    "DROP INDEX IF EXISTS outbox_event_payout_id",
    *versions.load("outbox_emit", 3),
]

BACKWARDS = [
    *versions.load("outbox_emit", 2),
    "CREATE INDEX IF NOT EXISTS outbox_event_payout_id ON outbox_event (payout_id)",
    "DROP INDEX IF EXISTS outbox_event_payout_sequence",
    "ALTER TABLE outbox_event DROP COLUMN IF EXISTS sequence",
]


async def forwards():
    from sandbox.db import sql_migration

    return sql_migration(ID, DESCRIPTION, FORWARDS, BACKWARDS)
