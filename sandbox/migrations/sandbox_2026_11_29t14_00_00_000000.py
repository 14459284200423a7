"""Checks and counts once per statement, not once per row (issue 93: a payout's statements).

- `ledger_entry_balanced`: a constraint trigger deferred to commit ran once per leg and
  read the transaction's legs back, four reads a payout; now a statement trigger checks
  the legs the statement inserted, grouped by transaction (sandbox/sql/
  ledger_transaction_balanced/v02.sql says why that is the same rule).
- `webhook_delivery_count_status` and `payout_count_status`: a row trigger appended two
  rows to `metric_count_delta` for each delivery or payout whose status changed (the
  recorder finishes three deliveries a payout in one statement, and the worker steps a
  batch of payouts in one: a nested statement and two rows each); now a statement trigger
  appends each status's net change, at most two rows a statement for a batch of one kind.
  It fires on every UPDATE of the table (a statement trigger with transition tables takes
  no column list) and appends nothing where no status changed: the deliveries' leases are
  such statements, and the payouts' claims take row locks, not UPDATEs.
- `payout_count_inserted`: the payouts' inserts counted once per statement, as the
  deliveries' already were (a batch's upload inserts its payouts a chunk a statement)."""

from sandbox.sql import versions

ID = "2026-11-29T14:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "the ledger's balance check and the payouts' and deliveries' counts once per statement"

_TALLIED = (("payout", "payouts"), ("webhook_delivery", "webhook_deliveries"))

FORWARDS = [
    "DROP TRIGGER IF EXISTS ledger_entry_balanced ON ledger_entry",
    *versions.load("ledger_transaction_balanced", 2),
    """CREATE TRIGGER ledger_entry_balanced AFTER INSERT ON ledger_entry
        REFERENCING NEW TABLE AS inserted
        FOR EACH STATEMENT EXECUTE FUNCTION ledger_transaction_balanced()""",
    *versions.load("metric_count_status_changed", 1),
    *(statement for table, metric in _TALLIED for statement in (
        f"DROP TRIGGER IF EXISTS {table}_count_status ON {table}",
        f"""CREATE TRIGGER {table}_count_status AFTER UPDATE ON {table}
            REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION metric_count_status_changed('{metric}')""",
    )),
    "DROP TRIGGER IF EXISTS payout_count_rows ON payout",
    """CREATE TRIGGER payout_count_rows AFTER DELETE ON payout
        FOR EACH ROW EXECUTE FUNCTION metric_count_status('payouts')""",
    """CREATE TRIGGER payout_count_inserted AFTER INSERT ON payout
        REFERENCING NEW TABLE AS inserted
        FOR EACH STATEMENT EXECUTE FUNCTION metric_count_inserted('payouts')""",
]

BACKWARDS = [
    "DROP TRIGGER IF EXISTS payout_count_inserted ON payout",
    "DROP TRIGGER IF EXISTS payout_count_rows ON payout",
    """CREATE TRIGGER payout_count_rows AFTER INSERT OR DELETE ON payout
        FOR EACH ROW EXECUTE FUNCTION metric_count_status('payouts')""",
    *(statement for table, metric in _TALLIED for statement in (
        f"DROP TRIGGER IF EXISTS {table}_count_status ON {table}",
        f"""CREATE TRIGGER {table}_count_status AFTER UPDATE OF status ON {table}
            FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
            EXECUTE FUNCTION metric_count_status('{metric}')""",
    )),
    *versions.drop("metric_count_status_changed"),
    "DROP TRIGGER IF EXISTS ledger_entry_balanced ON ledger_entry",
    *versions.load("ledger_transaction_balanced", 1),
    """CREATE CONSTRAINT TRIGGER ledger_entry_balanced
        AFTER INSERT OR UPDATE ON ledger_entry
        DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW EXECUTE FUNCTION ledger_transaction_balanced()""",
]


async def forwards():
    from sandbox.db import sql_migration

    return sql_migration(ID, DESCRIPTION, FORWARDS, BACKWARDS)
