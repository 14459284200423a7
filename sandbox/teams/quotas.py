"""A team's quotas, each refused in words (403 `quota_exceeded`) past its bound; NULL in
the `team` row means no bound, and the operator's team has none unless the operator sets
one.

- merchants: counted when one is made, in its transaction, under the team row's lock;
- webhook endpoints (not deleted, over all the team's merchants): the same, when one is made;
- payouts a day (UTC): a counter per team and day in Redis, counted for every team,
  bounded or not, so that a bound set mid-day applies to the day so far (3 made, then a
  bound of 3: the next is refused) and `payouts_today` (GET /admin/teams, /metrics) is true
  whatever the bound. POST /payouts takes one from it before the payout is made (one Redis
  round trip, INCR; with a bound, refused past it) and gives it back if no payout was made
  (a refusal, a replayed idempotency key). The bound travels with the key
  (`Principal.payouts_per_day`, read with the key and cached with it), so the path gains
  no query. The counter lives two days; a Redis that loses its data forgets the day's
  count (this is a sandbox: the bound is against a runaway loop, not an invoice), and
  while Redis is unreachable payouts are neither counted nor bounded (as the rate limiter
  fails open: money lives in PostgreSQL). A
  payout batch's rows take from the same count (`take_payouts`), in the worker, a chunk
  at a time: the rows past the bound are `refused` items with the `quota_exceeded`
  reason, as rows past the funds are."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from redis.exceptions import RedisError

from sandbox import db, redis_client
from sandbox import enqueue as queue
from sandbox.auth.principal import Principal
from sandbox.core.errors import QuotaExceeded

log = logging.getLogger("sandbox.quotas")

DAY_KEY = "sandbox:team-payouts:{team}:{day}"
OUTAGE_RETRY_S = 1.0
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
    """A payout taken from the day's quota; `made` False gives it back. For a team without
    a bound nothing is taken before: `count` (given to the payout's creation) counts the
    payout once it is made, among the Redis commands its creation sends after it commits,
    so an unbounded team's payout costs no round trip of its own."""

    made: bool = True
    count: Callable[[], Awaitable[None]] | None = None


@dataclass(frozen=True)
class Grant:
    """What `take_payouts` granted, and whether it was counted (not while Redis is away)."""

    granted: int
    counted: bool = True


class _Outage:
    """Redis unreachable: the day's count fails open, as the rate limiter does (a payout
    lives in PostgreSQL, and the bound is against a runaway loop), and Redis is left alone
    for OUTAGE_RETRY_S after a failure, so a frozen Redis costs one request its deadline."""

    def __init__(self) -> None:
        self.until = 0.0
        self.down = False

    def skipping(self) -> bool:
        return time.monotonic() < self.until

    def failed(self, exc: BaseException) -> None:
        self.until = time.monotonic() + OUTAGE_RETRY_S
        if not self.down:
            self.down = True
            log.warning("Redis is unreachable (%s); teams' payouts of the day are not counted nor bounded "
                        "until it is back", type(exc).__name__)

    def back(self) -> None:
        if self.down:
            self.down = False
            log.warning("Redis is back; teams' payouts of the day are counted again")


_OUTAGE = _Outage()


async def take_payouts(team: str, bound: int | None, wanted: int) -> Grant:
    """The one rule of the day's payouts: take up to `wanted` from `team`'s count of today
    (one atomic INCRBY, so two takers racing at the bound never pass it together) and give
    back at once what passes `bound` (None: no bound, all are granted and counted). While
    Redis is unreachable all are granted and none counted (`Grant.counted` False)."""
    if _OUTAGE.skipping():
        return Grant(wanted, counted=False)
    redis = redis_client.get()
    key = day_key(team)
    try:
        async with redis.pipeline(transaction=True) as pipe:
            pipe.incrby(key, wanted)
            pipe.expire(key, DAY_KEY_TTL_S)
            used, _ = await pipe.execute()
        granted = wanted if bound is None else max(0, min(wanted, bound - (used - wanted)))
        if granted < wanted:
            await redis.decrby(key, wanted - granted)
    except (RedisError, TimeoutError, OSError) as exc:
        _OUTAGE.failed(exc)
        return Grant(wanted, counted=False)
    _OUTAGE.back()
    return Grant(granted)


def counting_made_payout(team: str) -> Callable[[], Awaitable[None]]:
    """For a payout being made in a transaction (or one write): count it in `team`'s day
    with the other Redis commands that the write sends once it commits. A lost call is
    logged, not raised, as the rest of it is: the day then reads one fewer."""
    key = day_key(team)

    def add(commands: queue.Commands) -> None:
        commands.incrby_expire(key, 1, DAY_KEY_TTL_S)

    async def count() -> None:
        await queue.redis_after_commit(add)

    return count


async def give_back_payouts(team: str, count: int) -> None:
    """Payouts counted in the day that were not made after all."""
    if not count:
        return
    try:
        await redis_client.get().decrby(day_key(team), count)
    except (RedisError, TimeoutError, OSError) as exc:  # the day reads a few more than were made
        _OUTAGE.failed(exc)


def payouts_exceeded(team: str, bound: int) -> QuotaExceeded:
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%d")
    return QuotaExceeded(f"Team {team} made {bound} payouts today (UTC), its "
                         f"quota (max_payouts_per_day {bound}); more from {tomorrow} 00:00 UTC")


@contextlib.asynccontextmanager
async def payout_of_the_day(principal: Principal) -> AsyncIterator[Taken]:
    """Around making one payout: counts it in the team's payouts of the day, or refuses it
    past the team's bound."""
    taken = Taken()
    team, bound = principal.team_id, principal.payouts_per_day
    if team is None:  # no merchant key is without a team; nothing to count
        yield taken
        return
    if bound is None:  # nothing to refuse: counted once made, with its other Redis commands
        taken.count = counting_made_payout(team)
        yield taken
        return
    grant = await take_payouts(team, bound, 1)
    if not grant.granted:
        assert bound is not None  # without a bound every payout is granted
        raise payouts_exceeded(team, bound)
    try:
        yield taken
    except BaseException:
        if grant.counted:
            await give_back_payouts(team, 1)
        raise
    if not taken.made and grant.counted:
        await give_back_payouts(team, 1)


async def day_of_merchant(merchant_id: str) -> tuple[str, int | None] | None:
    """The team of `merchant_id` and its payouts-a-day bound (None: no bound), for the
    worker, which has no key to carry them; None when the merchant is gone."""
    row = await db.fetchrow("SELECT t.id, t.max_payouts_per_day FROM merchant m JOIN team t ON t.id = m.team"
                            " WHERE m.id = $1", merchant_id)
    return None if row is None else (row["id"], row["max_payouts_per_day"])


async def payouts_today(teams: list[str]) -> dict[str, int]:
    """Each team's payouts made today (UTC), as the quota counts them."""
    if not teams:
        return {}
    values = await redis_client.get().mget([day_key(t) for t in teams])
    return {t: int(v) for t, v in zip(teams, values, strict=True) if v is not None}
