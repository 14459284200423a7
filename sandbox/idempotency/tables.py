"""The idempotency middleware's table (sandbox/idempotency/claims.py): one row per
(scope, key), holding the stored response for 24 hours."""

from piccolo.columns import JSONB, Bytea, Integer, Timestamptz, Varchar
from piccolo.constraints import Unique
from piccolo.table import Table


class IdempotencyKey(Table, tablename="idempotency_key"):
    # The merchant id, or `admin:<key id>` for admin keys.
    scope = Varchar(length=60)
    key = Varchar(length=255)
    request_hash = Varchar(length=64)
    response_status = Integer()
    response_headers = JSONB()
    response_body = Bytea()
    created_at = Timestamptz()
    expires_at = Timestamptz(index=True)

    scope_key_unique = Unique(["scope", "key"])
