"""Events name their cause: `outbox_event.request` holds `{"id", "idempotency_key"}` of
the API request that caused the event, NULL when the worker, the rail's callback or a
clock did. `outbox_emit` takes it as a seventh argument that defaults to NULL, so a
statement that passes six still writes an event without a cause."""

from sandbox.migrations.sandbox_2026_11_23t10_00_00_000000 import FORWARDS as _FUNCTIONS

ID = "2026-11-23T11:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "outbox_event.request: the API request that caused the event"

# Going back restores the six-argument function as that migration made it.
_OUTBOX_EMIT_BEFORE = next(sql for sql in _FUNCTIONS if "FUNCTION outbox_emit" in sql)

FORWARDS = [
    "ALTER TABLE outbox_event ADD COLUMN request jsonb NULL",
    "DROP FUNCTION IF EXISTS outbox_emit(varchar, varchar, varchar, varchar, jsonb, timestamptz)",
    """
    CREATE FUNCTION outbox_emit(
        p_id varchar, p_merchant varchar, p_type varchar, p_payout_id varchar, p_data jsonb, p_at timestamptz,
        p_request jsonb DEFAULT NULL
    ) RETURNS varchar
    LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO outbox_event (id, merchant, type, payout_id, data, created_at, relayed_at, request)
        VALUES (p_id, p_merchant, p_type, p_payout_id, p_data, p_at, NULL, p_request);
        RETURN p_id;
    END $$
    """,
]

BACKWARDS = [
    "DROP FUNCTION IF EXISTS outbox_emit(varchar, varchar, varchar, varchar, jsonb, timestamptz, jsonb)",
    _OUTBOX_EMIT_BEFORE,
    "ALTER TABLE outbox_event DROP COLUMN request",
]


async def forwards():
    from sandbox.db import sql_migration

    return sql_migration(ID, DESCRIPTION, FORWARDS, BACKWARDS)
