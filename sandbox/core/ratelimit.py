"""Per-API-key request limits held in Redis (the `limits` library's sliding window
counter: two counters per key, O(1) a request): a generous default
(`SANDBOX_RATE_LIMIT`, 1000/second) and a per-merchant override in requests per
minute (`merchant.rate_limit_per_minute`, set through the admin route). Runs after
authentication and before idempotency, so a refused request never takes a key.

The algorithm is the library's, not a copy of it (house rule: no hand-written rate
limiter): two Redis round trips a request (hit, window stats). The merchant's override
comes with its API key, from the same query (core/auth.py).

Every answer carries `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`
(seconds until a slot frees); a refusal is 429 `rate_limited` with `Retry-After`.

While Redis is unreachable the limiter fails open: requests are served unlimited (and
without the RateLimit headers) rather than all refused with 503. Nothing about money
depends on Redis — balances, idempotency and payouts live in PostgreSQL, and the
sweepers queue a payout's steps once Redis is back — so reads and payout creation keep
working through a Redis outage. After a failure the limiter leaves Redis alone for
OUTAGE_RETRY_S, so a frozen Redis costs one request its deadline, not every request."""

from __future__ import annotations

import asyncio
import logging
import math
import time

from limits import RateLimitItem, RateLimitItemPerMinute, WindowStats, parse
from limits.aio.storage import RedisStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import StorageError
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.core import redis as redis_client
from sandbox.core.errors import RateLimited

log = logging.getLogger("sandbox.ratelimit")
OUTAGE_RETRY_S = 1.0


class RateLimitMiddleware(ASGIMiddleware):
    scopes = ("http",)  # type: ignore[assignment]

    def __init__(self, default: str) -> None:
        self.default: RateLimitItem = parse(default)
        self._limiter: SlidingWindowCounterRateLimiter | None = None
        self._down_until = 0.0  # monotonic time before which Redis is not asked again
        self._down = False

    def limiter(self) -> SlidingWindowCounterRateLimiter:
        if self._limiter is None:  # built on first use: the Redis pool exists from startup on
            # The URI is only parsed: the storage uses the process's own Redis pool.
            storage = RedisStorage("async+redis://localhost:6379", implementation="redispy",
                                   connection_pool=redis_client.get().connection_pool, key_prefix="ratelimit",
                                   wrap_exceptions=True)
            self._limiter = SlidingWindowCounterRateLimiter(storage)
        return self._limiter

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        principal = scope.get("state", {}).get("principal")
        if principal is None:
            await next_app(scope, receive, send)
            return
        per_minute = principal.rate_limit_per_minute  # read with the key (core/auth.py)
        item = RateLimitItemPerMinute(per_minute) if per_minute else self.default
        window = await self._hit(item, principal.key_id)
        if window is None:  # Redis is unreachable: fail open (see the module's docstring)
            await next_app(scope, receive, send)
            return
        allowed, stats = window
        reset = max(0, math.ceil(stats.reset_time - time.time()))
        headers = {
            "RateLimit-Limit": str(item.amount),
            "RateLimit-Remaining": str(max(0, stats.remaining)),
            "RateLimit-Reset": str(reset),
            "RateLimit-Policy": f"{item.amount};w={item.get_expiry()}",
        }
        if not allowed:
            raise RateLimited(
                f"This key may make {item.amount} requests per {item.get_expiry()} s; retry in {max(1, reset)} s",
                headers={**headers, "Retry-After": str(max(1, reset))},
            )

        # Appended as raw pairs: nothing else sets these names, and this runs on every answer.
        raw = [(name.lower().encode(), value.encode()) for name, value in headers.items()]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *raw]
            await send(message)

        await next_app(scope, receive, send_with_headers)

    async def _hit(self, item: RateLimitItem, key: str) -> tuple[bool, WindowStats] | None:
        """Count the request; None while Redis is unreachable."""
        if time.monotonic() < self._down_until:
            return None
        limiter = self.limiter()
        try:
            # The limiter's client is its own (over our pool), so it lacks our client's
            # per-command deadline: a frozen Redis would queue requests here.
            async with asyncio.timeout(redis_client.SOCKET_TIMEOUT_S):
                allowed = await limiter.hit(item, key)
                stats = await limiter.get_window_stats(item, key)
        except (StorageError, TimeoutError, ConnectionError) as exc:
            self._down_until = time.monotonic() + OUTAGE_RETRY_S
            if not self._down:
                self._down = True
                log.warning("Redis is unreachable (%s); requests are not rate limited until it is back",
                            type(exc).__name__)
            return None
        if self._down:
            self._down = False
            log.warning("Redis is back; rate limits apply again")
        return allowed, stats
