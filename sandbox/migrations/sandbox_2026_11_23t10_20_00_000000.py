"""Error codes each merchant's requests received, counted for GET /sandbox/coverage.
Everything else coverage reports is read from rows the sandbox writes anyway (payouts,
events, deliveries); a problem response leaves no row, so it is counted here."""

ID = "2026-11-23T10:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "merchant_error_count: problem codes received per merchant"

FORWARDS = [
    """
    CREATE TABLE merchant_error_count (
        merchant VARCHAR(40) NOT NULL REFERENCES merchant (id) ON DELETE CASCADE,
        code VARCHAR(60) NOT NULL,
        count BIGINT NOT NULL DEFAULT 0 CHECK (count >= 0),
        last_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (merchant, code)
    )
    """,
]

BACKWARDS = ["DROP TABLE IF EXISTS merchant_error_count"]


async def forwards():
    from sandbox.db import sql_migration

    return sql_migration(ID, DESCRIPTION, FORWARDS, BACKWARDS)
