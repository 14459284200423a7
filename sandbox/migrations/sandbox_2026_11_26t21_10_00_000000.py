"""/metrics' counts of webhook deliveries and attempts kept once per INSERT statement, not
once per row.

The relay inserts its deliveries in batches (about 35 rows a statement at 200 payouts a
second) and the recorder its attempts (about 7): a row trigger ran a PL/pgSQL call and
appended a row to `metric_count_delta` for each, three or four of each a payout. Now a
statement trigger with the inserted rows as a transition table appends one row per
status (per outcome) for the whole statement. Deletes, and the deliveries' status changes,
stay row triggers: an UPDATE statement trigger would copy every updated row, the leases'
too, to find the few whose status changed."""

from sandbox.sql import versions

ID = "2026-11-26T21:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "webhook delivery and attempt counts kept once per INSERT statement"

FORWARDS = [
    *versions.load("metric_count_inserted", 1),
    *versions.load("metric_count_attempts_inserted", 1),
    "DROP TRIGGER webhook_delivery_count_rows ON webhook_delivery",
    """CREATE TRIGGER webhook_delivery_count_rows AFTER DELETE ON webhook_delivery
        FOR EACH ROW EXECUTE FUNCTION metric_count_status('webhook_deliveries')""",
    """CREATE TRIGGER webhook_delivery_count_inserted AFTER INSERT ON webhook_delivery
        REFERENCING NEW TABLE AS inserted
        FOR EACH STATEMENT EXECUTE FUNCTION metric_count_inserted('webhook_deliveries')""",
    "DROP TRIGGER webhook_attempt_count ON webhook_attempt",
    """CREATE TRIGGER webhook_attempt_count AFTER DELETE ON webhook_attempt
        FOR EACH ROW EXECUTE FUNCTION metric_count_attempt()""",
    """CREATE TRIGGER webhook_attempt_count_inserted AFTER INSERT ON webhook_attempt
        REFERENCING NEW TABLE AS inserted
        FOR EACH STATEMENT EXECUTE FUNCTION metric_count_attempts_inserted()""",
]

BACKWARDS = [
    "DROP TRIGGER IF EXISTS webhook_attempt_count_inserted ON webhook_attempt",
    "DROP TRIGGER IF EXISTS webhook_attempt_count ON webhook_attempt",
    """CREATE TRIGGER webhook_attempt_count AFTER INSERT OR DELETE ON webhook_attempt
        FOR EACH ROW EXECUTE FUNCTION metric_count_attempt()""",
    "DROP TRIGGER IF EXISTS webhook_delivery_count_inserted ON webhook_delivery",
    "DROP TRIGGER IF EXISTS webhook_delivery_count_rows ON webhook_delivery",
    """CREATE TRIGGER webhook_delivery_count_rows AFTER INSERT OR DELETE ON webhook_delivery
        FOR EACH ROW EXECUTE FUNCTION metric_count_status('webhook_deliveries')""",
    *versions.drop("metric_count_attempts_inserted"),
    *versions.drop("metric_count_inserted"),
]


async def forwards():
    from sandbox.db import sql_migration

    return sql_migration(ID, DESCRIPTION, FORWARDS, BACKWARDS)
