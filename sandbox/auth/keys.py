"""API keys: random, shown once, stored as a SHA-256 hash, compared in constant time.

The gate (gate.py) authenticates every /api/v1 route except health and readiness;
guards only authorise (merchant vs admin). A key that authenticated is remembered by the
process until the key or its merchant changes (auth/cache.py)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sandbox import db
from sandbox.auth.cache import CACHE
from sandbox.auth.principal import Principal
from sandbox.core.errors import Forbidden, Unauthenticated

API_KEY_HEADER = "x-api-key"
PREFIX_LENGTH = 16
MERCHANT_KEY_PREFIX = "sk_test_"
ADMIN_KEY_PREFIX = "sk_admin_"
MAX_KEY_LENGTH = 200


def generate_key(role: str) -> str:
    prefix = ADMIN_KEY_PREFIX if role == "admin" else MERCHANT_KEY_PREFIX
    return prefix + secrets.token_urlsafe(24)


def hash_key(key: str) -> str:
    # Keys carry 192 random bits, so a fast hash is enough; no password stretching needed.
    return hashlib.sha256(key.encode()).hexdigest()


def well_formed(key: str) -> bool:
    """Whether `key` could be a key at all: a shorter or longer one is refused unread."""
    return PREFIX_LENGTH <= len(key) <= MAX_KEY_LENGTH


def key_prefix(key: str) -> str:
    return key[:PREFIX_LENGTH]


async def store_key(key: str, role: str, merchant_id: str | None, key_id: str, team_id: str | None = None) -> None:
    """Insert a key row (hash and prefix only). Runs in the caller's transaction. `team_id`:
    a team key's team (an admin key acting for that team only)."""
    await db.execute(
        "INSERT INTO api_key (id, merchant, role, prefix, key_hash, created_at, revoked_at, team)"
        " VALUES ($1, $2, $3, $4, $5, now(), NULL, $6) ON CONFLICT (prefix) DO NOTHING",
        key_id,
        merchant_id,
        role,
        key_prefix(key),
        hash_key(key),
        team_id,
    )


async def authenticate(key: str | None) -> Principal:
    if not key:
        raise Unauthenticated("Send your API key in the X-API-KEY header")
    if not well_formed(key):
        raise Unauthenticated("The API key is not valid")
    digest = hash_key(key)
    cached = CACHE.get(digest)  # a key seen before, unchanged since (auth/cache.py)
    if cached is not None:
        return cached
    generation = CACHE.generation
    row = await db.fetchrow(
        "SELECT k.id, k.role, k.merchant, k.key_hash, k.revoked_at, k.revoked_at <= now() AS revoked,"
        " m.rate_limit_per_minute,"
        " EXISTS (SELECT 1 FROM fault_rule f WHERE f.merchant = k.merchant AND f.remaining > 0) AS fault_rules,"
        " EXISTS (SELECT 1 FROM merchant_scenario s WHERE s.merchant = k.merchant) AS custom_scenarios,"
        " ARRAY(SELECT x FROM webhook_endpoint e, unnest(ARRAY[e.signing_key, e.previous_signing_key]) AS x"
        "       WHERE e.merchant = k.merchant AND x IS NOT NULL) AS secrets,"
        " t.id AS team, t.max_payouts_per_day"
        " FROM api_key k LEFT JOIN merchant m ON m.id = k.merchant"
        " LEFT JOIN team t ON t.id = COALESCE(k.team, m.team) WHERE k.prefix = $1",
        key_prefix(key),
    )
    # Compare even when no row matched, so timing does not tell which prefixes exist.
    expected = row["key_hash"] if row else "0" * 64
    if not hmac.compare_digest(expected, digest) or row is None:
        raise Unauthenticated("The API key is not valid")
    if row["revoked"]:  # worded as for an unknown key: a probe learns nothing
        raise Unauthenticated("The API key is not valid")
    # A later `revoked_at`: a rolled key in its overlap (rotation/rolling.py), working until then.
    expires_at = row["revoked_at"].timestamp() if row["revoked_at"] is not None else None
    principal = Principal(key_id=row["id"], role=row["role"], merchant_id=row["merchant"],
                          rate_limit_per_minute=row["rate_limit_per_minute"], fault_rules=row["fault_rules"],
                          custom_scenarios=row["custom_scenarios"], secrets=tuple(row["secrets"]),
                          team_id=row["team"], payouts_per_day=row["max_payouts_per_day"], expires_at=expires_at)
    CACHE.put(digest, principal, generation)
    return principal


# Which key may call a route: its `opt` says the role (`opt = MERCHANT_ONLY` on a
# controller, `opt=ADMIN_ONLY` on a route), and the gate checks it with the key
# (`wrong_role`). Not a Litestar guard: Litestar copies the route handler (41 slots) for
# every guard call, about 20 µs a request for a comparison of two strings.
ROLE = "role"
OPERATOR = "operator"
MERCHANT_ONLY = {ROLE: "merchant"}
ADMIN_ONLY = {ROLE: "admin"}
# The operator's own routes (teams and their keys): the admin key, not a team key.
OPERATOR_ONLY = {ROLE: "admin", OPERATOR: True}


def wrong_role(principal: Principal, route_opt: dict) -> Forbidden | None:
    """The refusal when the key's role is not the one the route names, else None."""
    role = route_opt.get(ROLE)
    if role is None or (principal.role == role and (principal.operator or not route_opt.get(OPERATOR))):
        return None
    if role == "merchant":
        return Forbidden("This route needs a merchant key; admin keys act through the admin routes")
    if principal.role == role:
        return Forbidden("This route needs the operator's admin key; a team key acts within its team only")
    return Forbidden("This route needs an admin key")
