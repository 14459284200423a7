"""Receiver audits: each run of POST /webhook-endpoints/{id}/audit, with its verdict per
case (`cases`: name, what was sent, expected, observed status or transport error,
latency, passed, why it matters). Kept apart from events and deliveries: an audit sends
requests that are no event of the merchant's and counts as no delivery. Listed newest
first per endpoint (`number`)."""

ID = "2026-11-24T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "webhook_audit: receiver audits and their verdicts"

FORWARDS = [
    """
    CREATE TABLE webhook_audit (
        id VARCHAR(40) PRIMARY KEY,
        number BIGSERIAL NOT NULL,
        merchant VARCHAR(40) NOT NULL REFERENCES merchant (id) ON DELETE CASCADE,
        endpoint VARCHAR(40) NOT NULL REFERENCES webhook_endpoint (id) ON DELETE CASCADE,
        url VARCHAR(2048) NOT NULL,
        signing VARCHAR(16) NOT NULL,
        passed BOOLEAN NOT NULL,
        case_count INTEGER NOT NULL CHECK (case_count >= 0),
        failed_count INTEGER NOT NULL CHECK (failed_count >= 0 AND failed_count <= case_count),
        case_timeout_s DOUBLE PRECISION NOT NULL,
        cases JSONB NOT NULL,
        started_at TIMESTAMPTZ NOT NULL,
        finished_at TIMESTAMPTZ NOT NULL
    )
    """,
    "CREATE INDEX webhook_audit_endpoint_number ON webhook_audit (endpoint, number DESC)",
]

BACKWARDS = ["DROP TABLE IF EXISTS webhook_audit"]


async def forwards():
    from sandbox.db import sql_migration

    return sql_migration(ID, DESCRIPTION, FORWARDS, BACKWARDS)
