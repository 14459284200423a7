"""Per-merchant rate limit overrides (admin)."""

from __future__ import annotations

from limits import RateLimitItemPerMinute, parse

from sandbox import db
from sandbox.auth import cache as auth_cache
from sandbox.core.errors import AboveCeiling, NotFound
from sandbox.ratelimits.schemas import RateLimitOut
from sandbox.settings import get_settings


def _describe(merchant_id: str, per_minute: int | None) -> RateLimitOut:
    settings = get_settings()
    item = RateLimitItemPerMinute(per_minute) if per_minute else parse(settings.rate_limit)
    return RateLimitOut(merchant_id=merchant_id, requests_per_minute=per_minute, default=settings.rate_limit,
                        effective=str(item), team_ceiling_per_minute=ceiling_per_minute())


def ceiling_per_minute() -> int:
    """SANDBOX_RATE_LIMIT_CEILING in requests per minute (at least 1): the most a team key
    may set."""
    item = parse(get_settings().rate_limit_ceiling)
    return max(1, item.amount * 60 // item.get_expiry())


def _within_ceiling(per_minute: int | None) -> None:
    ceiling = ceiling_per_minute()
    if per_minute is not None and per_minute > ceiling:
        raise AboveCeiling(
            f"requests_per_minute {per_minute} is past the operator's ceiling for team keys: {ceiling} a minute"
            f" (SANDBOX_RATE_LIMIT_CEILING {get_settings().rate_limit_ceiling}); ask the operator for more")


async def get(merchant_id: str, team: str | None = None) -> RateLimitOut:
    """`team`: a team key's; another team's merchant is as missing as one that never existed."""
    row = await db.fetchrow("SELECT rate_limit_per_minute FROM merchant WHERE id = $1"
                            " AND ($2::varchar IS NULL OR team = $2)", merchant_id, team)
    if row is None:
        raise NotFound(f"No merchant {merchant_id}")
    return _describe(merchant_id, row["rate_limit_per_minute"])


async def set_limit(merchant_id: str, per_minute: int | None, team: str | None = None) -> RateLimitOut:
    """Set (or with None, remove) the override; it applies from the next request on (the
    limiter reads it with the API key, auth/keys.py). A team key (`team`) may not set one
    past the operator's ceiling."""
    if team is not None:
        _within_ceiling(per_minute)
    found = await db.fetchval("UPDATE merchant SET rate_limit_per_minute = $2 WHERE id = $1"
                              " AND ($3::varchar IS NULL OR team = $3) RETURNING id", merchant_id, per_minute, team)
    if found is None:
        raise NotFound(f"No merchant {merchant_id}")
    # The override travels with the merchant's key: remembered keys must be read again.
    await db.after_commit(auth_cache.forget_all)
    return _describe(merchant_id, per_minute)
