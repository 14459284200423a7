"""Test clocks: a merchant created on a manual clock has a row here holding the time its
clock shows (a live-clock merchant has none). Its payouts' due steps are found by
merchant and due time, in due order, when the clock is advanced."""

ID = "2026-11-23T11:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "merchant_clock: the time of each manual test clock"

FORWARDS = [
    """
    CREATE TABLE merchant_clock (
        merchant varchar(40) PRIMARY KEY REFERENCES merchant (id) ON DELETE CASCADE,
        time timestamptz NOT NULL
    )
    """,
    "CREATE INDEX payout_merchant_next_action ON payout (merchant, next_action_at) WHERE next_action_at IS NOT NULL",
]

BACKWARDS = [
    "DROP INDEX IF EXISTS payout_merchant_next_action",
    "DROP TABLE IF EXISTS merchant_clock",
]


async def forwards():
    from sandbox.db import sql_migration

    return sql_migration(ID, DESCRIPTION, FORWARDS, BACKWARDS)
