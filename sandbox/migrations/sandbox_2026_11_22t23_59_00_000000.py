"""Rules the database itself enforces, beyond what Piccolo's column options express:
a ledger transaction's legs sum to zero (checked at commit), per-merchant unique
payout references and ledger sequence numbers, and the indexes the hot paths use."""

from sandbox.sql import versions

ID = "2026-11-22T23:59:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "ledger and payout rules the database enforces"

FORWARDS = [
    *versions.load("ledger_transaction_balanced", 1),
    """
    CREATE CONSTRAINT TRIGGER ledger_entry_balanced
        AFTER INSERT OR UPDATE ON ledger_entry
        DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW EXECUTE FUNCTION ledger_transaction_balanced()
    """,
    *versions.load("ledger_is_append_only", 1),
    """
    CREATE TRIGGER ledger_entry_append_only BEFORE UPDATE OR DELETE ON ledger_entry
        FOR EACH ROW EXECUTE FUNCTION ledger_is_append_only()
    """,
    "CREATE UNIQUE INDEX ledger_entry_merchant_seq ON ledger_entry (merchant, seq) WHERE seq IS NOT NULL",
    "CREATE UNIQUE INDEX payout_merchant_reference ON payout (merchant, reference) WHERE reference IS NOT NULL",
    "CREATE INDEX payout_merchant_number ON payout (merchant, number DESC)",
    "CREATE INDEX payout_next_action ON payout (next_action_at) WHERE next_action_at IS NOT NULL",
    "CREATE INDEX outbox_event_unrelayed ON outbox_event (created_at) WHERE relayed_at IS NULL",
]

BACKWARDS = [
    "DROP INDEX IF EXISTS outbox_event_unrelayed",
    "DROP INDEX IF EXISTS payout_next_action",
    "DROP INDEX IF EXISTS payout_merchant_number",
    "DROP INDEX IF EXISTS payout_merchant_reference",
    "DROP INDEX IF EXISTS ledger_entry_merchant_seq",
    "DROP TRIGGER IF EXISTS ledger_entry_append_only ON ledger_entry",
    *versions.drop("ledger_is_append_only"),
    "DROP TRIGGER IF EXISTS ledger_entry_balanced ON ledger_entry",
    *versions.drop("ledger_transaction_balanced"),
]


async def forwards():
    from sandbox.db import sql_migration

    return sql_migration(ID, DESCRIPTION, FORWARDS, BACKWARDS)
