"""Smaller ANALYZE samples for the tables that grow with every payout: a statistics target
of 10 (PostgreSQL's default is 100) on each of their columns that has statistics at all.

ANALYZE reads 300 rows for each unit of the target, each from a page of its own: 30,000
pages by default, most of them no longer in shared buffers once a table outgrows them.
The queue tables are analyzed after 500 rows + 2 % changed (migration 2026-11-25T19:00),
nearly every autovacuum naptime under load, so over a 30-minute soak at 300/s the
autovacuum workers read more pages from the OS than every backend together and spent
600 s in ANALYZE. With 3,000 rows sampled the same number of ANALYZEs took 115 s, and the
plans these tables' statements need (a key, a merchant's newest, the due indexes) do not
turn on a histogram's finer buckets: tests/sql/test_statistics.py keeps them index walks.

A column added later gets the server's default; the test names any such column."""

ID = "2026-11-27T13:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "smaller ANALYZE samples for the growing tables"

TARGET = 10
TABLES = ("payout", "outbox_event", "webhook_delivery", "webhook_attempt", "request_log",
          "ledger_entry", "ledger_transaction", "idempotency_key")


def _each_column(target: int, where: str) -> str:
    """A DO block that sets `target` on every live column of TABLES that `where` admits."""
    tables = ", ".join(f"'{t}'" for t in TABLES)
    return f"""
DO $$
DECLARE c record;
BEGIN
  FOR c IN SELECT attrelid::regclass AS tbl, attname FROM pg_attribute
           WHERE attrelid = ANY (ARRAY[{tables}]::regclass[])
             AND attnum > 0 AND NOT attisdropped AND {where}
  LOOP
    EXECUTE format('ALTER TABLE %s ALTER COLUMN %I SET STATISTICS {target}', c.tbl, c.attname);
  END LOOP;
END $$"""


# Columns with statistics turned off (target 0, migration 2026-11-27T09:00) stay off.
FORWARDS = [_each_column(TARGET, "attstattarget IS DISTINCT FROM 0")]

BACKWARDS = [_each_column(-1, f"attstattarget = {TARGET}")]


async def forwards():
    from sandbox.db import sql_migration

    return sql_migration(ID, DESCRIPTION, FORWARDS, BACKWARDS)
