"""A team's quotas, each refused in words (403 `quota_exceeded`) past its bound; NULL in
the `team` row means no bound, and the operator's team has none unless the operator sets
one.

- merchants: counted when one is made, in its transaction, under the team row's lock;
- webhook endpoints (not deleted, over all the team's merchants): the same, when one is made;
- payouts a day (UTC): a counter per team and day in Redis. POST /payouts of a team with
  this quota takes one from it before the payout is made (one Redis round trip, INCR)
  and gives it back if no payout was made (a refusal, a replayed idempotency key). A team
  without the quota pays nothing: its keys say so (`Principal.payouts_per_day`, read with
  the key and cached with it), so today's path gains no query. The counter lives two days;
  a Redis that loses its data forgets the day's count (this is a sandbox: the bound is
  against a runaway loop, not an invoice)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sandbox import db, redis_client
from sandbox.auth.principal import Principal
from sandbox.core.errors import QuotaExceeded

DAY_KEY = "sandbox:team-payouts:{team}:{day}"
DAY_KEY_TTL_S = 2 * 86_400


async def _bound(team: str, column: str) -> int | None:
    """The team's bound, its row locked until the transaction ends when it has one, so two
    requests of one team count one after the other (FOR NO KEY UPDATE: merchants referring
    to the team are still made and read meanwhile)."""
    bound = await db.fetchval(f"SELECT {column} FROM team WHERE id = $1", team)  # noqa: S608 - a column name of ours
    if bound is not None:
        await db.execute("SELECT 1 FROM team WHERE id = $1 FOR NO KEY UPDATE", team)
    return bound


async def take_merchant(team: str) -> None:
    """In the transaction that makes a merchant of `team`: refused when it has its bound."""
    bound = await _bound(team, "max_merchants")
    if bound is None:
        return
    used = await db.fetchval("SELECT count(*) FROM merchant WHERE team = $1", team)
    if used >= bound:
        raise QuotaExceeded(f"Team {team} has {used} merchants, its quota (max_merchants {bound}); "
                            "ask the operator for more, or let retention remove idle ones")


async def take_webhook_endpoint(merchant_id: str) -> None:
    """In the transaction that makes a webhook endpoint of `merchant_id`: refused when its
    team has its bound of endpoints over all its merchants."""
    team = await db.fetchval("SELECT team FROM merchant WHERE id = $1", merchant_id)
    bound = await _bound(team, "max_webhook_endpoints")
    if bound is None:
        return
    used = await db.fetchval(
        "SELECT count(*) FROM webhook_endpoint e JOIN merchant m ON m.id = e.merchant"
        " WHERE m.team = $1 AND e.deleted_at IS NULL", team)
    if used >= bound:
        raise QuotaExceeded(f"Team {team} has {used} webhook endpoints, its quota (max_webhook_endpoints {bound}); "
                            "delete one first")


def day_key(team: str, at: datetime | None = None) -> str:
    return DAY_KEY.format(team=team, day=(at or datetime.now(UTC)).strftime("%Y%m%d"))


@dataclass
class Taken:
    """A payout taken from the day's quota; `made` False gives it back."""

    made: bool = True


@contextlib.asynccontextmanager
async def payout_of_the_day(principal: Principal) -> AsyncIterator[Taken]:
    """Around making one payout: takes it from the team's payouts of the day, or refuses."""
    taken = Taken()
    if principal.payouts_per_day is None or principal.team_id is None:
        yield taken
        return
    redis = redis_client.get()
    key = day_key(principal.team_id)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.incr(key)
        pipe.expire(key, DAY_KEY_TTL_S)
        used, _ = await pipe.execute()
    if used > principal.payouts_per_day:
        await redis.decr(key)
        tomorrow = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%d")
        raise QuotaExceeded(f"Team {principal.team_id} made {principal.payouts_per_day} payouts today (UTC), its "
                            f"quota (max_payouts_per_day {principal.payouts_per_day}); more from {tomorrow} 00:00 UTC")
    try:
        yield taken
    except BaseException:
        await redis.decr(key)
        raise
    if not taken.made:
        await redis.decr(key)


async def payouts_today(teams: list[str]) -> dict[str, int]:
    """Each team's payouts made today (UTC), as the quota counts them."""
    if not teams:
        return {}
    values = await redis_client.get().mget([day_key(t) for t in teams])
    return {t: int(v) for t, v in zip(teams, values, strict=True) if v is not None}
