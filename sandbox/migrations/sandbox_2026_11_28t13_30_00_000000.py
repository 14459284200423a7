"""`merchant.made_by_scope`, `merchant.made_by_key`: the idempotency key (its scope and
key) of the request that made the merchant, when one did (POST /sandbox/merchants). That
request's stored answer lives in the scope of the admin or team key that sent it, not in
the merchant's own; retention (sandbox/retention/removal.py) finds it by these columns and
removes it with the merchant. NULL for merchants made without a request (seeding) and
for those made before this migration."""

ID = "2026-11-28T13:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "the request that made a merchant, for retention"

FORWARDS = [
    "ALTER TABLE merchant ADD COLUMN made_by_scope varchar(60) NULL, ADD COLUMN made_by_key varchar(255) NULL",
]

BACKWARDS = [
    "ALTER TABLE merchant DROP COLUMN IF EXISTS made_by_key, DROP COLUMN IF EXISTS made_by_scope",
]


async def forwards():
    from sandbox.db import sql_migration

    return sql_migration(ID, DESCRIPTION, FORWARDS, BACKWARDS)
