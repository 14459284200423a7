"""A key's row: what makes two requests the same (`fingerprint`), the lock every path
takes on (scope, key), and the stored answer written and read back. The SQL is the
database's (`idempotency_claim`, `idempotency_store`, `idempotency_stored` in
sandbox/sql/): the same functions `payout_create` calls."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import msgspec
from litestar.types import HTTPScope

from sandbox import db
from sandbox.core.errors import IdempotencyKeyReused
from sandbox.idempotency import sealing
from sandbox.idempotency.body import Body
from sandbox.idempotency.responses import StoredResponse

TTL = timedelta(hours=24)

CLAIM_SQL = ("SELECT got_lock, request_hash, response_status, response_headers, response_body"
             " FROM idempotency_claim($1, $2, $3)")
_STORE_SQL = "SELECT idempotency_store($1, $2, $3, $4, $5::jsonb, $6, $7)"
STORED_SQL = "SELECT request_hash, response_status, response_headers, response_body FROM idempotency_stored($1, $2)"


def fingerprint(scope: HTTPScope, body: Body) -> str:
    """Same request = same method, path, query and JSON content (key order and spacing
    do not matter), multipart bodies by their parts (not the boundary); other bodies,
    and JSON too large to keep in memory, compare byte for byte."""
    raw = body.in_memory
    parts = body.content_sha256()
    if parts is not None:
        canonical = parts.encode()
    elif raw is None:
        canonical = body.sha256().encode()
    else:
        try:
            canonical = msgspec.json.encode(msgspec.json.decode(raw), order="sorted") if raw else b""
        except msgspec.DecodeError:
            canonical = raw
    digest = hashlib.sha256()
    for part in (scope["method"].encode(), scope["path"].encode(), scope.get("query_string", b""), canonical):
        digest.update(part)
        digest.update(b"\x00")
    return digest.hexdigest()


async def scope_of(scope: HTTPScope, principal) -> str:
    """Whose keys a request's key is among: a merchant's own; an admin key's kept apart for
    each merchant it acts on (the payout or merchant its path names). So an admin's fixed
    key, say a Pact interaction's approve replayed against a fresh provider state run after
    run, means one approval per merchant, as a merchant's key means one request of its own."""
    if principal.merchant_id is not None:
        return principal.idempotency_scope
    params = scope.get("path_params") or {}
    merchant = params.get("merchant_id")
    if merchant is None and params.get("payout_id") is not None:
        merchant = await db.fetchval("SELECT merchant FROM payout WHERE id = $1", params["payout_id"])
    if merchant is None:
        return principal.idempotency_scope
    return admin_scope_on(principal.idempotency_scope, merchant)


def admin_scope_on(admin_scope: str, merchant_id: str) -> str:
    """The scope of an admin key's (`admin:<key id>`) requests on one merchant: a digest of
    the two, as the scope column holds 60 characters and ids may be long. Retention finds
    a removed merchant's rows in every admin key's scope by it."""
    return "admin:" + hashlib.sha256(f"{admin_scope}\x1f{merchant_id}".encode()).hexdigest()[:48]


def lock_name(scope_id: str, key: str) -> str:
    """What the advisory lock on (scope, key) is taken on, in every path alike."""
    return f"{scope_id}\x1f{key}"


async def store(scope_id: str, key: str, request_hash: str, response: StoredResponse) -> bool:
    """Write the key row; False when a live row for the key exists already: a request
    that held the key before committed its answer first."""
    return await db.fetchval(
        _STORE_SQL,
        scope_id,
        key,
        request_hash,
        response.status,
        msgspec.json.encode(response.headers).decode(),
        sealing.seal(response.body, request_hash),  # no key at rest in plain text
        TTL,
    )


def replay(row, request_hash: str) -> StoredResponse:
    """The stored response for a repeated key, or 422 when the request differs."""
    if row["request_hash"] != request_hash:
        raise IdempotencyKeyReused("This idempotency key was already used with a different request; use a new key")
    body, every = sealing.open_sealed(bytes(row["response_body"]), request_hash)
    headers = [tuple(h) for h in msgspec.json.decode(row["response_headers"])]
    return StoredResponse(status=row["response_status"], headers=headers if every else [*headers, sealing.GONE_HEADER],
                          body=body)
