"""Per-API-key request limits held in Redis (the `limits` library's sliding window
counter: two counters per key, O(1) a request): a generous default
(`SANDBOX_RATE_LIMIT`, 1000/second) and a per-merchant override in requests per
minute (`merchant.rate_limit_per_minute`, set through the admin route). Runs after
authentication and before idempotency, so a refused request never takes a key.

The algorithm is the library's, not a copy of it (house rule: no hand-written rate
limiter): two Redis round trips a request (hit, window stats). The merchant's override
comes with its API key, from the same query (core/auth.py).

Every answer carries `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`
(seconds until a slot frees); a refusal is 429 `rate_limited` with `Retry-After`."""

from __future__ import annotations

import asyncio
import math
import time

from limits import RateLimitItem, RateLimitItemPerMinute, parse
from limits.aio.storage import RedisStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.core import redis as redis_client
from sandbox.core.errors import RateLimited


class RateLimitMiddleware(ASGIMiddleware):
    scopes = ("http",)  # type: ignore[assignment]

    def __init__(self, default: str) -> None:
        self.default: RateLimitItem = parse(default)
        self._limiter: SlidingWindowCounterRateLimiter | None = None

    def limiter(self) -> SlidingWindowCounterRateLimiter:
        if self._limiter is None:  # built on first use: the Redis pool exists from startup on
            # The URI is only parsed: the storage uses the process's own Redis pool.
            storage = RedisStorage("async+redis://localhost:6379", implementation="redispy",
                                   connection_pool=redis_client.get().connection_pool, key_prefix="ratelimit")
            self._limiter = SlidingWindowCounterRateLimiter(storage)
        return self._limiter

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        principal = scope.get("state", {}).get("principal")
        if principal is None:
            await next_app(scope, receive, send)
            return
        per_minute = principal.rate_limit_per_minute  # read with the key (core/auth.py)
        item = RateLimitItemPerMinute(per_minute) if per_minute else self.default
        limiter = self.limiter()
        # The limiter's client is its own (over our pool), so it lacks our client's per-command
        # deadline: a frozen Redis would queue requests here (sandbox/core/redis.py says why).
        async with asyncio.timeout(redis_client.SOCKET_TIMEOUT_S):
            allowed = await limiter.hit(item, principal.key_id)
            stats = await limiter.get_window_stats(item, principal.key_id)
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
