"""Autovacuum settings for the queue tables (`payout`, `outbox_event`, `webhook_delivery`).

Their rows are claimed in the order of a due index, and the planner keeps walking that
index only while its statistics say most rows there are due. By default autovacuum
analyzes a table after a tenth of its rows changed and vacuums it after a fifth are
dead: on a queue whose every row is updated twice within a second of being made, that
lets the statistics fall far behind what is due, and the dead rows of a million-row
`webhook_delivery` pile up to 200,000 before a vacuum. Here a table is analyzed after
500 rows plus 2 % of it changed, and vacuumed after 1,000 plus 5 % are dead (or, for the
rows only inserted, 5 %, so their pages are marked all-visible soon). The first ANALYZE
of a fresh table is the worker's (sandbox/queue_statistics.py)."""

ID = "2026-11-25T19:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "autovacuum settings for the queue tables"

TABLES = ("payout", "outbox_event", "webhook_delivery")
SETTINGS = {
    "autovacuum_analyze_threshold": "500",
    "autovacuum_analyze_scale_factor": "0.02",
    "autovacuum_vacuum_threshold": "1000",
    "autovacuum_vacuum_scale_factor": "0.05",
    "autovacuum_vacuum_insert_scale_factor": "0.05",
}

FORWARDS = [f"ALTER TABLE {table} SET ({', '.join(f'{k} = {v}' for k, v in SETTINGS.items())})" for table in TABLES]

BACKWARDS = [f"ALTER TABLE {table} RESET ({', '.join(SETTINGS)})" for table in TABLES]


async def forwards():
    from sandbox.db import sql_migration

    return sql_migration(ID, DESCRIPTION, FORWARDS, BACKWARDS)
