"""No statistics for the columns that only carry bodies: an event's payload, the request
log's bodies and headers, a stored idempotent answer, a payout's history and metadata.

No statement filters, joins or sorts on their values, and the autovacuum's ANALYZE spent
most of its time on them: sorting 30,000 sampled JSON documents a column for a histogram
no plan reads. Growing tables are analyzed every few thousand rows, so under load that
was about a tenth of the machine's CPU a payout (a 3-minute soak at 200/s: outbox_event
analyzed 18 times, request_log 12; a manual ANALYZE of request_log 0.55 s, 0.14 s
without these columns' statistics)."""

ID = "2026-11-27T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "no planner statistics for body-only columns"

COLUMNS = {
    "outbox_event": ("data", "request"),
    "request_log": ("request_headers", "response_headers", "request_body", "response_body"),
    "idempotency_key": ("response_headers", "response_body"),
    "payout": ("status_history", "metadata"),
}

FORWARDS = [f"ALTER TABLE {table} ALTER COLUMN {column} SET STATISTICS 0"
            for table, columns in COLUMNS.items() for column in columns]

BACKWARDS = [f"ALTER TABLE {table} ALTER COLUMN {column} SET STATISTICS -1"
             for table, columns in COLUMNS.items() for column in columns]


async def forwards():
    from sandbox.db import sql_migration

    return sql_migration(ID, DESCRIPTION, FORWARDS, BACKWARDS)
