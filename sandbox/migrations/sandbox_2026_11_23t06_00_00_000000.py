"""Tell every API process when a key or a merchant changes: its cache of authenticated
keys (sandbox/core/auth_cache.py) forgets what it remembered. One notification per
statement, not per row; inserts need none (a new key was never remembered)."""

from sandbox.sql import versions

ID = "2026-11-23T06:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "notify sandbox_auth when an API key or a merchant changes"

FORWARDS = [
    *versions.load("notify_auth_changed", 1),
    """
    CREATE TRIGGER api_key_auth_changed AFTER UPDATE OR DELETE OR TRUNCATE ON api_key
        FOR EACH STATEMENT EXECUTE FUNCTION notify_auth_changed()
    """,
    """
    CREATE TRIGGER merchant_auth_changed AFTER UPDATE OR DELETE OR TRUNCATE ON merchant
        FOR EACH STATEMENT EXECUTE FUNCTION notify_auth_changed()
    """,
]

BACKWARDS = [
    "DROP TRIGGER IF EXISTS merchant_auth_changed ON merchant",
    "DROP TRIGGER IF EXISTS api_key_auth_changed ON api_key",
    *versions.drop("notify_auth_changed"),
]


async def forwards():
    from sandbox.db import sql_migration

    return sql_migration(ID, DESCRIPTION, FORWARDS, BACKWARDS)
