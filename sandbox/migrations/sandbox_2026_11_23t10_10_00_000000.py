"""Dashboard sessions ended by signing out. The session itself lives in an encrypted
cookie; signing out records its id here, so a copy of the cookie stops working at once
instead of at its 12-hour end. Rows are useless after `expires_at` (the cookie's own
end) and are deleted as new ones are written."""

ID = "2026-11-23T10:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "dashboard sessions revoked by signing out"

FORWARDS = [
    """
    CREATE TABLE dashboard_session_revoked (
        id text PRIMARY KEY,
        expires_at timestamptz NOT NULL
    )
    """,
    "CREATE INDEX dashboard_session_revoked_expires_at ON dashboard_session_revoked (expires_at)",
]

BACKWARDS = ["DROP TABLE IF EXISTS dashboard_session_revoked"]


async def forwards():
    from sandbox.db import sql_migration

    return sql_migration(ID, DESCRIPTION, FORWARDS, BACKWARDS)
