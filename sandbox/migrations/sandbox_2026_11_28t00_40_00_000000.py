"""Teams and retention (docs/teams-and-retention.md).

- `team`: who shares the sandbox, with its quotas (NULL: no bound). The operator's team,
  `team_operator`, holds the merchants the operator's key makes, and every merchant that
  existed before this migration.
- `merchant.team`: the one team a merchant belongs to; `merchant.keep`: spared by retention.
- `api_key.team`: a team key (role admin, no merchant) acts for that team only; NULL on the
  operator's admin key, which acts on every team.
- `merchant_activity`: when a merchant's keys last made a request (real time, at most a few
  minutes stale: sandbox/retention/activity.py). A table of its own, not a column of
  `merchant`, so that writing it never tells every API process to forget its cached keys
  (the trigger on `merchant`). Merchants that existed before start their idle time now.
- A change to a team (its quotas) reaches the key cache as a merchant's change does: keys
  carry their team's payout quota.
- `ledger_is_append_only` v02: the retention job may delete a whole merchant's ledger rows
  in the transaction that removes that merchant, and nothing else."""

from sandbox.sql import versions

ID = "2026-11-28T00:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "teams, quotas, merchant activity and retention"

FORWARDS = [
    """
    CREATE TABLE team (
        id varchar(40) PRIMARY KEY,
        name varchar(200) NOT NULL,
        max_merchants integer NULL CHECK (max_merchants >= 0),
        max_payouts_per_day integer NULL CHECK (max_payouts_per_day >= 0),
        max_webhook_endpoints integer NULL CHECK (max_webhook_endpoints >= 0),
        created_at timestamptz NOT NULL DEFAULT now()
    )
    """,
    "INSERT INTO team (id, name) VALUES ('team_operator', 'Operator')",
    """
    CREATE TRIGGER team_auth_changed AFTER UPDATE OR DELETE OR TRUNCATE ON team
        FOR EACH STATEMENT EXECUTE FUNCTION notify_auth_changed()
    """,
    "ALTER TABLE merchant ADD COLUMN team varchar(40) NOT NULL DEFAULT 'team_operator' REFERENCES team (id)",
    "ALTER TABLE merchant ADD COLUMN keep boolean NOT NULL DEFAULT false",
    "CREATE INDEX merchant_team ON merchant (team)",
    "ALTER TABLE api_key ADD COLUMN team varchar(40) NULL REFERENCES team (id)",
    """
    CREATE TABLE merchant_activity (
        merchant varchar(40) PRIMARY KEY REFERENCES merchant (id) ON DELETE CASCADE,
        at timestamptz NOT NULL
    )
    """,
    "CREATE INDEX merchant_activity_at ON merchant_activity (at)",
    "INSERT INTO merchant_activity (merchant, at) SELECT id, now() FROM merchant",
    *versions.load("ledger_is_append_only", 2),
]

BACKWARDS = [
    *versions.load("ledger_is_append_only", 1),
    "DROP TABLE IF EXISTS merchant_activity",
    "ALTER TABLE api_key DROP COLUMN IF EXISTS team",
    "DROP INDEX IF EXISTS merchant_team",
    "ALTER TABLE merchant DROP COLUMN IF EXISTS keep",
    "ALTER TABLE merchant DROP COLUMN IF EXISTS team",
    "DROP TABLE IF EXISTS team",
]


async def forwards():
    from sandbox.db import sql_migration

    return sql_migration(ID, DESCRIPTION, FORWARDS, BACKWARDS)
