"""Counts that /metrics serves without reading whole tables.

Triggers write one small row into `metric_count_delta` for every payout or delivery
status change and every webhook attempt (an append: no shared row is locked, so writers
never wait on each other). A scrape, or every process's metrics flusher now and then,
folds the deltas into `metric_count` (one row per metric and label). A scrape therefore
reads O(labels + changes since the last fold), however long the history is. The
tables are seeded from the rows that exist when this migration runs."""

from sandbox.sql import versions

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
    *versions.load("metric_count_status", 1),
    *versions.load("metric_count_attempt", 1),
    *versions.load("metric_count_reset", 1),
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
    *versions.drop("metric_count_reset"),
    *versions.drop("metric_count_attempt"),
    *versions.drop("metric_count_status"),
    "DROP TABLE IF EXISTS metric_count_delta",
    "DROP TABLE IF EXISTS metric_count",
]


async def forwards():
    from sandbox.db import sql_migration

    return sql_migration(ID, DESCRIPTION, FORWARDS, BACKWARDS)
