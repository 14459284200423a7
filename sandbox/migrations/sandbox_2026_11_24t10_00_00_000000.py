"""The request log and the API fault rules.

- `request_log`: one row per authenticated API request of a merchant (sandbox/requests/).
  Listed newest first per merchant through `(merchant, number)`, which also finds where a
  merchant's last N rows begin; rows older than the retention age are found through a
  BRIN index on `logged_at` (rows arrive in time order, so the index stays tiny and costs
  an insert almost nothing).
- `fault_rule`: a merchant's rules (sandbox/faults/). The authenticated key says whether
  its merchant has a rule left (the auth query reads it), so a change to the rules tells
  every API process to forget its cached keys, as a change to a key or a merchant does."""

ID = "2026-11-24T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "request_log and fault_rule"

FORWARDS = [
    """
    CREATE TABLE request_log (
        number bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id varchar(128) NOT NULL,
        merchant varchar(60) NOT NULL,
        at timestamptz NOT NULL,
        logged_at timestamptz NOT NULL DEFAULT now(),
        method varchar(16) NOT NULL,
        route varchar(255) NOT NULL,
        path text NOT NULL,
        status int NOT NULL,
        duration_ms real NOT NULL,
        idempotency_key varchar(255) NULL,
        idempotency_outcome varchar(16) NULL,
        fault varchar(32) NULL,
        object_ids text[] NOT NULL DEFAULT '{}',
        request_headers jsonb NOT NULL DEFAULT '[]',
        response_headers jsonb NOT NULL DEFAULT '[]',
        request_body bytea NULL,
        response_body bytea NULL,
        request_body_size int NOT NULL DEFAULT 0,
        response_body_size int NOT NULL DEFAULT 0
    )
    """,
    "CREATE INDEX request_log_merchant ON request_log (merchant, number)",
    "CREATE INDEX request_log_logged_at ON request_log USING brin (logged_at)",
    """
    CREATE TABLE fault_rule (
        number bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id varchar(40) NOT NULL UNIQUE,
        merchant varchar(60) NOT NULL,
        method varchar(16) NOT NULL,
        path varchar(255) NOT NULL,
        fault varchar(32) NOT NULL,
        times int NOT NULL,
        remaining int NOT NULL,
        delay_s real NOT NULL,
        created_at timestamptz NOT NULL
    )
    """,
    "CREATE INDEX fault_rule_merchant ON fault_rule (merchant, number)",
    """
    CREATE TRIGGER fault_rule_auth_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON fault_rule
        FOR EACH STATEMENT EXECUTE FUNCTION notify_auth_changed()
    """,
]

BACKWARDS = [
    "DROP TABLE IF EXISTS fault_rule",
    "DROP TABLE IF EXISTS request_log",
]


async def forwards():
    from sandbox.db import sql_migration

    return sql_migration(ID, DESCRIPTION, FORWARDS, BACKWARDS)
