"""The webhook queue's rows no longer have PostgreSQL check their references: the foreign
keys of `outbox_event.merchant`, `webhook_delivery.merchant`, `.event`, `.endpoint` and
`webhook_attempt.delivery` go. The money's stay (`payout`, the ledger's, the balances').

Each foreign key costs every insert a lookup of the row it names, which also locks that
row (FOR KEY SHARE): a payout's events, deliveries and attempts checked 17 or so a
payout, most of them on the same merchant's row, which transactions of that merchant
committing side by side then share through a multixact. None of these checks can fail:
each of these rows is written only by code that has just read the rows it names, in the
same transaction (`outbox_emit` with the payout's merchant, the relay with the events it
claimed and the endpoints it locked, the recorder with the delivery it holds the lease
of), and none of the rows named is ever deleted (merchants and events are kept, an
endpoint's deletion is a `deleted_at`). Their indexes stay: the queries read them."""

ID = "2026-11-26T21:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "the webhook queue's references unchecked by foreign keys"

# (table, column, the table it names): as Piccolo made them, ON DELETE/UPDATE CASCADE.
REFERENCES = (
    ("outbox_event", "merchant", "merchant"),
    ("webhook_delivery", "merchant", "merchant"),
    ("webhook_delivery", "event", "outbox_event"),
    ("webhook_delivery", "endpoint", "webhook_endpoint"),
    ("webhook_attempt", "delivery", "webhook_delivery"),
)

# Found by what they constrain, not by name: whatever PostgreSQL named them.
_DROP = """
DO $$
DECLARE c record;
BEGIN
    FOR c IN SELECT conname FROM pg_constraint
              WHERE contype = 'f' AND conrelid = '{table}'::regclass
                AND conkey = ARRAY[(SELECT attnum FROM pg_attribute
                                     WHERE attrelid = '{table}'::regclass AND attname = '{column}')] LOOP
        EXECUTE format('ALTER TABLE {table} DROP CONSTRAINT %I', c.conname);
    END LOOP;
END $$
"""

FORWARDS = [_DROP.format(table=table, column=column) for table, column, _ in REFERENCES]

BACKWARDS = [
    f"ALTER TABLE {table} ADD FOREIGN KEY ({column}) REFERENCES {named} (id) ON DELETE CASCADE ON UPDATE CASCADE"
    for table, column, named in REFERENCES
]


async def forwards():
    from sandbox.db import sql_migration

    return sql_migration(ID, DESCRIPTION, FORWARDS, BACKWARDS)
