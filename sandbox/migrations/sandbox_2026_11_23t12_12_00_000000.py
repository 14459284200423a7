"""Counts that /metrics serves without reading whole tables.

Triggers write one small row into `metric_count_delta` for every payout or delivery
status change and every webhook attempt (an append: no shared row is locked, so writers
never wait on each other). A scrape, or every process's metrics flusher now and then,
folds the deltas into `metric_count` (one row per metric and label). A scrape therefore
reads O(labels + changes since the last fold), however long the history is. The
tables are seeded from the rows that exist when this migration runs."""

ID = "2026-11-23T12:12:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "metric_count: counts by status kept by triggers, for /metrics"

_TALLIED = (("payout", "payouts"), ("webhook_delivery", "webhook_deliveries"))

FORWARDS = [
    """
    CREATE TABLE metric_count (
        metric varchar(40) NOT NULL,
        label varchar(40) NOT NULL,
        n bigint NOT NULL,
        PRIMARY KEY (metric, label)
    )
    """,
    # No index, no key: appended by triggers, emptied by the fold.
    """
    CREATE TABLE metric_count_delta (
        metric varchar(40) NOT NULL,
        label varchar(40) NOT NULL,
        n integer NOT NULL
    )
    """,
    # TG_ARGV[0]: the metric. A row entering a status counts +1 there, leaving it −1.
    """
    CREATE FUNCTION metric_count_status() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            INSERT INTO metric_count_delta VALUES (TG_ARGV[0], NEW.status, 1);
        ELSIF TG_OP = 'DELETE' THEN
            INSERT INTO metric_count_delta VALUES (TG_ARGV[0], OLD.status, -1);
        ELSE
            INSERT INTO metric_count_delta VALUES (TG_ARGV[0], OLD.status, -1), (TG_ARGV[0], NEW.status, 1);
        END IF;
        RETURN NULL;
    END $$ LANGUAGE plpgsql
    """,
    """
    CREATE FUNCTION metric_count_attempt() RETURNS trigger AS $$
    DECLARE
        row webhook_attempt := CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    BEGIN
        INSERT INTO metric_count_delta VALUES ('webhook_attempts',
            CASE WHEN row.status_code BETWEEN 200 AND 299 THEN 'success'
                 WHEN row.status_code IS NOT NULL THEN 'http_' || (row.status_code / 100)::text || 'xx'
                 ELSE 'no_response' END,
            CASE WHEN TG_OP = 'DELETE' THEN -1 ELSE 1 END);
        RETURN NULL;
    END $$ LANGUAGE plpgsql
    """,
    # After a TRUNCATE the table's counts start again from nothing.
    """
    CREATE FUNCTION metric_count_reset() RETURNS trigger AS $$
    BEGIN
        DELETE FROM metric_count WHERE metric = TG_ARGV[0];
        DELETE FROM metric_count_delta WHERE metric = TG_ARGV[0];
        RETURN NULL;
    END $$ LANGUAGE plpgsql
    """,
    *(statement for table, metric in _TALLIED for statement in (
        f"""CREATE TRIGGER {table}_count_rows AFTER INSERT OR DELETE ON {table}
            FOR EACH ROW EXECUTE FUNCTION metric_count_status('{metric}')""",
        f"""CREATE TRIGGER {table}_count_status AFTER UPDATE OF status ON {table}
            FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
            EXECUTE FUNCTION metric_count_status('{metric}')""",
        f"""CREATE TRIGGER {table}_count_reset AFTER TRUNCATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION metric_count_reset('{metric}')""",
        f"INSERT INTO metric_count SELECT '{metric}', status, count(*) FROM {table} GROUP BY status",
    )),
    """CREATE TRIGGER webhook_attempt_count AFTER INSERT OR DELETE ON webhook_attempt
        FOR EACH ROW EXECUTE FUNCTION metric_count_attempt()""",
    """CREATE TRIGGER webhook_attempt_count_reset AFTER TRUNCATE ON webhook_attempt
        FOR EACH STATEMENT EXECUTE FUNCTION metric_count_reset('webhook_attempts')""",
    """
    INSERT INTO metric_count
    SELECT 'webhook_attempts',
           CASE WHEN status_code BETWEEN 200 AND 299 THEN 'success'
                WHEN status_code IS NOT NULL THEN 'http_' || (status_code / 100)::text || 'xx'
                ELSE 'no_response' END,
           count(*)
      FROM webhook_attempt GROUP BY 2
    """,
]

BACKWARDS = [
    "DROP TRIGGER IF EXISTS webhook_attempt_count_reset ON webhook_attempt",
    "DROP TRIGGER IF EXISTS webhook_attempt_count ON webhook_attempt",
    *(f"DROP TRIGGER IF EXISTS {table}_{suffix} ON {table}"
      for table, _ in _TALLIED for suffix in ("count_rows", "count_status", "count_reset")),
    "DROP FUNCTION IF EXISTS metric_count_reset()",
    "DROP FUNCTION IF EXISTS metric_count_attempt()",
    "DROP FUNCTION IF EXISTS metric_count_status()",
    "DROP TABLE IF EXISTS metric_count_delta",
    "DROP TABLE IF EXISTS metric_count",
]


async def forwards():
    from sandbox.db import sql_migration

    return sql_migration(ID, DESCRIPTION, FORWARDS, BACKWARDS)
