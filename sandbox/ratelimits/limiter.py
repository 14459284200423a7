"""Per-API-key request limits held in Redis (the `limits` library's sliding window
counter: two counters per key, O(1) a request): a generous default
(`SANDBOX_RATE_LIMIT`, 1000/second) and a per-merchant override in requests per
minute (`merchant.rate_limit_per_minute`, set through the admin route). Runs after
authentication and before idempotency, so a refused request never takes a key.

The algorithm is the `limits` library's; the library needs two Redis round trips a
request (hit, then window stats for the headers), so the counting runs through
ratelimits/sliding_window.py, a one-round-trip copy of it kept equal to the library by a
differential test (the one kind of copy the house rules allow). The merchant's override
comes with its API key, from the same query (auth/keys.py).

Every answer carries `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`
(seconds until a slot frees); a refusal is 429 `rate_limited` with `Retry-After`.

While Redis is unreachable the limiter fails open: requests are served unlimited (and
without the RateLimit headers) rather than all refused with 503. Nothing about money
depends on Redis — balances, idempotency and payouts live in PostgreSQL, and the
sweepers queue a payout's steps once Redis is back — so reads and payout creation keep
working through a Redis outage. After a failure the limiter leaves Redis alone for
OUTAGE_RETRY_S, so a frozen Redis costs one request its deadline, not every request."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from functools import lru_cache

from limits import RateLimitItem, RateLimitItemPerMinute, WindowStats, parse
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from redis.exceptions import RedisError

from sandbox import redis_client
from sandbox.core.errors import RateLimited
from sandbox.ratelimits.sliding_window import SlidingWindowCounter

log = logging.getLogger("sandbox.ratelimit")
OUTAGE_RETRY_S = 1.0


class RateLimitMiddleware(ASGIMiddleware):
    scopes = ("http",)  # type: ignore[assignment]

    def __init__(self, default: str) -> None:
        self.default: RateLimitItem = parse(default)
        self._limiter: SlidingWindowCounter | None = None
        self._down_until = 0.0  # monotonic time before which Redis is not asked again
        self._down = False

    def limiter(self) -> SlidingWindowCounter:
        if self._limiter is None:  # built on first use: the process's Redis client exists from startup on
            # The process's lean calls (redis_client.Lean): a pool without redis-py's
            # per-socket-operation timeout, under which every command's send runs in a task
            # of its own and every read under a timer; `_hit` gives the whole call one deadline.
            self._limiter = SlidingWindowCounter(redis_client.lean())
        return self._limiter

    async def close(self) -> None:
        """At shutdown: the limiter is made again on next use (its connections are the
        process's lean calls', closed with the Redis client)."""
        self._limiter = None

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        principal = scope.get("state", {}).get("principal")
        raw = await self.count(principal) if principal is not None else None
        await next_app(scope, receive, send if raw is None else with_headers(send, raw))

    async def count(self, principal, cost: int = 1) -> list[tuple[bytes, bytes]] | None:
        """Count one request of `principal` (or `cost` of them: work a route does on the
        merchant's behalf) against its limit: raises RateLimited (429) when over it, else
        returns the RateLimit headers for the answer; None while Redis is unreachable (fail
        open, see the module's docstring)."""
        per_minute = principal.rate_limit_per_minute  # read with the key (auth/keys.py)
        item = _per_minute(per_minute) if per_minute else self.default
        window = await self._hit(item, principal.key_id, cost)
        if window is None:
            return None
        allowed, stats = window
        reset = max(0, math.ceil(stats.reset_time - time.time()))
        remaining = str(max(0, stats.remaining))
        if not allowed:
            raise RateLimited(
                f"This key may make {item.amount} requests per {item.get_expiry()} s; retry in {max(1, reset)} s",
                headers={"RateLimit-Limit": str(item.amount), "RateLimit-Remaining": remaining,
                         "RateLimit-Reset": str(reset), "RateLimit-Policy": _policy(item),
                         "Retry-After": str(max(1, reset))},
            )
        # Appended as raw pairs: nothing else sets these names, and this runs on every answer.
        return [*_fixed_headers(item), (b"ratelimit-remaining", remaining.encode()),
                (b"ratelimit-reset", str(reset).encode())]

    async def _hit(self, item: RateLimitItem, key: str, cost: int = 1) -> tuple[bool, WindowStats] | None:
        """Count the request; None while Redis is unreachable."""
        if time.monotonic() < self._down_until:
            return None
        try:
            window = await self.limiter().hit(item, key, cost)  # one deadline for the whole call (Lean)
        except (RedisError, TimeoutError, ConnectionError, OSError) as exc:
            self._down_until = time.monotonic() + OUTAGE_RETRY_S
            if not self._down:
                self._down = True
                log.warning("Redis is unreachable (%s); requests are not rate limited until it is back",
                            type(exc).__name__)
            return None
        if self._down:
            self._down = False
            log.warning("Redis is back; rate limits apply again")
        return window


def with_headers(send: Send, raw: Sequence[tuple[bytes, bytes]]) -> Send:
    """`send` adding the RateLimit headers to the answer's start."""

    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", ()), *raw]
        await send(message)

    return send_with_headers


# Limits are few (the default and the overrides in use): their items and the headers
# that depend only on the limit are made once per process, not per request.
@lru_cache(maxsize=1024)
def _per_minute(per_minute: int) -> RateLimitItem:
    return RateLimitItemPerMinute(per_minute)


def _policy(item: RateLimitItem) -> str:
    return f"{item.amount};w={item.get_expiry()}"


@lru_cache(maxsize=1024)
def _fixed_headers(item: RateLimitItem) -> tuple[tuple[bytes, bytes], ...]:
    return ((b"ratelimit-limit", str(item.amount).encode()), (b"ratelimit-policy", _policy(item).encode()))
