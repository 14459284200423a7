"""Statistics for the tables the worker claims work from, from their first minute.

PostgreSQL plans a query from each table's statistics, which only ANALYZE makes. A fresh
sandbox's queue tables have none until autovacuum's first ANALYZE, and without them the
planner guesses that almost no row is due: the webhook claim then fetched and sorted
every due row (29.7 ms at 15,548 due rows) where, with statistics, it walks the due
index and stops at its limit (4.7 ms). So the worker's `analyze_new` cron job runs
ANALYZE on a queue table as soon as it has changed by `FIRST_AT_ROWS` rows and was never
analyzed (a few milliseconds, once per table per database); from then on autovacuum
keeps the statistics fresh, by the per-table settings of migration
2026-11-25T19:00 and the embedded server's `autovacuum_naptime` (sandbox/runtime/embedded.py)."""

from __future__ import annotations

import logging

from sandbox import db

log = logging.getLogger("sandbox.statistics")

# Each claimed with SKIP LOCKED in the order of a due index (payout steps, the outbox
# relay's `outbox_unrelayed`, webhook attempts), and the events the relay reads by number.
QUEUE_TABLES = ("payout", "outbox_event", "outbox_unrelayed", "webhook_delivery")
FIRST_AT_ROWS = 1000

_NEVER_ANALYZED_SQL = """
SELECT relname FROM pg_stat_user_tables
 WHERE schemaname = current_schema() AND relname = ANY($1::name[])
   AND last_analyze IS NULL AND last_autoanalyze IS NULL AND n_mod_since_analyze >= $2
 ORDER BY relname
"""


async def analyze_new(tables: tuple[str, ...] = QUEUE_TABLES, at_rows: int = FIRST_AT_ROWS) -> list[str]:
    """ANALYZE each of `tables` that was never analyzed and has changed by `at_rows`
    rows since it was made; returns their names."""
    names = [r["relname"] for r in await db.fetch(_NEVER_ANALYZED_SQL, list(tables), at_rows)]
    for name in names:
        await db.execute(f'ANALYZE "{name}"')  # a name from `tables`, never a caller's input
    if names:
        log.info("first statistics of %s", ", ".join(names))
    return names
