"""A merchant's own scenarios (sandbox/scenarios/), and the payout's copy of the one it follows.

- `merchant_scenario`: one row per scenario a merchant made, the scenario itself as JSON
  (`body`, the shape of the built-in table's entries). A name, and a suffix when it has
  one, belong to one of the merchant's scenarios at a time. The merchant's keys say
  whether it has any (the auth query reads it, so POST /payouts costs a merchant without
  one no query), so a change tells every API process to forget its cached keys, as a
  change to a fault rule does.
- `payout.script`: the merchant's scenario a payout follows, copied when the payout is
  made (NULL: a built-in one, found by name). The worker plans from it with no query,
  and deleting the scenario leaves the payouts on it theirs.
- `payout_insert` v02 and `payout_create` v04 write it."""

from sandbox.sql import versions

ID = "2026-11-25T08:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "merchant_scenario and payout.script"

FORWARDS = [
    "ALTER TABLE payout ADD COLUMN script jsonb NULL",
    """
    CREATE TABLE merchant_scenario (
        number bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        merchant varchar(60) NOT NULL,
        name varchar(40) NOT NULL,
        suffix varchar(4) NULL,
        body jsonb NOT NULL,
        created_at timestamptz NOT NULL,
        UNIQUE (merchant, name),
        UNIQUE (merchant, suffix)
    )
    """,
    """
    CREATE TRIGGER merchant_scenario_auth_changed
        AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON merchant_scenario
        FOR EACH STATEMENT EXECUTE FUNCTION notify_auth_changed()
    """,
    *versions.load("payout_insert", 2),
    *versions.load("payout_create", 4),
]

BACKWARDS = [
    *versions.load("payout_create", 3),
    *versions.load("payout_insert", 1),
    "DROP TABLE IF EXISTS merchant_scenario",
    "ALTER TABLE payout DROP COLUMN IF EXISTS script",
]


async def forwards():
    from sandbox.db import sql_migration

    return sql_migration(ID, DESCRIPTION, FORWARDS, BACKWARDS)
