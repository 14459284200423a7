"""Fewer index writes per webhook attempt.

Every attempt writes its delivery row twice (leased by a claim, then moved on by the
recorder), and each write that is not a HOT update (PostgreSQL's in-page update, which
needs free room in the row's page and no indexed column changed) writes an entry into
every index of the table:

- `webhook_delivery_event` goes: `one_per_generation` (event, endpoint, generation)
  starts with `event` and serves every lookup by event.
- the due-attempt index holds only deliveries that wait for an attempt
  (`next_attempt_at IS NOT NULL`): a finished delivery's row, most of the table, is no
  entry of it. `next_attempt_at <= $1`, as the claim and the sweeper ask, implies it.
- the table's pages keep a fifth free (`fillfactor`), so a claim, which changes only the
  lease columns, is a HOT update: no index entry at all."""

ID = "2026-11-25T13:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "webhook_delivery: one index fewer, the due index partial, room for HOT lease updates"

FORWARDS = [
    "DROP INDEX IF EXISTS webhook_delivery_event",
    "DROP INDEX IF EXISTS webhook_delivery_next_attempt_at",
    "CREATE INDEX webhook_delivery_due ON webhook_delivery (next_attempt_at) WHERE next_attempt_at IS NOT NULL",
    "ALTER TABLE webhook_delivery SET (fillfactor = 80)",
]

BACKWARDS = [
    "ALTER TABLE webhook_delivery RESET (fillfactor)",
    "DROP INDEX IF EXISTS webhook_delivery_due",
    "CREATE INDEX webhook_delivery_next_attempt_at ON webhook_delivery (next_attempt_at)",
    "CREATE INDEX webhook_delivery_event ON webhook_delivery (event)",
]


async def forwards():
    from sandbox.db import sql_migration

    return sql_migration(ID, DESCRIPTION, FORWARDS, BACKWARDS)
