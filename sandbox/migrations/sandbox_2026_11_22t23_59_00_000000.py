"""Rules the database itself enforces, beyond what Piccolo's column options express:
a ledger transaction's legs sum to zero (checked at commit), per-merchant unique
payout references and ledger sequence numbers, and the indexes the hot paths use."""

ID = "2026-11-22T23:59:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "ledger and payout rules the database enforces"

FORWARDS = [
    # Deferred to commit: the legs of one transaction are inserted one statement apart.
    """
    CREATE OR REPLACE FUNCTION ledger_transaction_balanced() RETURNS trigger AS $$
    DECLARE total bigint;
    BEGIN
        SELECT COALESCE(SUM(amount), 0) INTO total
          FROM ledger_entry WHERE "transaction" = NEW."transaction";
        IF total <> 0 THEN
            RAISE EXCEPTION 'ledger transaction % does not balance (sum %)', NEW."transaction", total
                USING ERRCODE = '23514';
        END IF;
        RETURN NULL;
    END $$ LANGUAGE plpgsql
    """,
    """
    CREATE CONSTRAINT TRIGGER ledger_entry_balanced
        AFTER INSERT OR UPDATE ON ledger_entry
        DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW EXECUTE FUNCTION ledger_transaction_balanced()
    """,
    # Ledger rows are history: never changed, never removed.
    """
    CREATE OR REPLACE FUNCTION ledger_is_append_only() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'ledger rows are append-only' USING ERRCODE = '23514';
    END $$ LANGUAGE plpgsql
    """,
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
    "DROP FUNCTION IF EXISTS ledger_is_append_only()",
    "DROP TRIGGER IF EXISTS ledger_entry_balanced ON ledger_entry",
    "DROP FUNCTION IF EXISTS ledger_transaction_balanced()",
]


async def forwards():
    from sandbox.db import sql_migration

    return sql_migration(ID, DESCRIPTION, FORWARDS, BACKWARDS)
