"""Events waiting for the relay are listed in a table of their own, `outbox_unrelayed`
(the event's `created_at` and `number`, its primary key in the relay's order), instead of
by `outbox_event.relayed_at IS NULL`.

Marking an event relayed was an UPDATE of its row: the row (the payout as JSON, about
1.4 KB) written again whole, and, because the partial index `outbox_event_unrelayed` is
defined by that column, new entries in every index of the table (no HOT update): 1.2 KB
of WAL an event, about 4 KB a payout. Now the event's row is written once, by
`outbox_emit` (v04), which also adds its line to `outbox_unrelayed`; the relay deletes
the lines it takes, in the transaction that makes the deliveries. The table holds only
the backlog (what the relay has not taken), so it stays a few pages.

The events not relayed when this runs are listed; `relayed_at` and its index go."""

from sandbox.sql import versions

ID = "2026-11-26T20:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "outbox_unrelayed: the events the relay has yet to take, in a table of their own"

# As the other queue tables (migration 2026-11-25T19:00), for a table whose every row is
# deleted within a second of being made: vacuumed after 1,000 dead rows plus 5 %.
_VACUUM = ("autovacuum_vacuum_threshold = 1000, autovacuum_vacuum_scale_factor = 0.05, "
           "autovacuum_analyze_threshold = 500, autovacuum_analyze_scale_factor = 0.02")

FORWARDS = [
    f"""
    CREATE TABLE outbox_unrelayed (
        created_at timestamptz NOT NULL,
        number bigint NOT NULL,
        PRIMARY KEY (created_at, number)
    ) WITH ({_VACUUM})
    """,
    "INSERT INTO outbox_unrelayed (created_at, number) SELECT created_at, number FROM outbox_event"
    " WHERE relayed_at IS NULL",
    *versions.load("outbox_emit", 4),
    "DROP INDEX IF EXISTS outbox_event_unrelayed",
    "ALTER TABLE outbox_event DROP COLUMN relayed_at",
]

BACKWARDS = [
    "ALTER TABLE outbox_event ADD COLUMN relayed_at timestamptz NULL",
    """
    UPDATE outbox_event e SET relayed_at = e.created_at
     WHERE NOT EXISTS (SELECT 1 FROM outbox_unrelayed u WHERE u.number = e.number)
    """,
    "CREATE INDEX outbox_event_unrelayed ON outbox_event (created_at) WHERE relayed_at IS NULL",
    *versions.load("outbox_emit", 3),
    "DROP TABLE outbox_unrelayed",
]


async def forwards():
    from sandbox.db import sql_migration

    return sql_migration(ID, DESCRIPTION, FORWARDS, BACKWARDS)
