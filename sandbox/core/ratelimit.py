"""Per-API-key request limits held in Redis (the sliding window counter of the `limits`
library: two counters per key, O(1) a request): a generous default
(`SANDBOX_RATE_LIMIT`, 1000/second) and a per-merchant override in requests per
minute (`merchant.rate_limit_per_minute`, set through the admin route). Runs after
authentication and before idempotency, so a refused request never takes a key.

One Redis round trip a request: a Lua script reads the merchant's cached override,
counts the hit and returns the window's figures (`limits` itself would take three: the
override, the hit, the stats). Only when the override is not cached does the database
answer, once per merchant and OVERRIDE_CACHE_S.

Every answer carries `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`
(seconds until a slot frees); a refusal is 429 `rate_limited` with `Retry-After`."""

from __future__ import annotations

import math

from limits import RateLimitItem, parse
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from sandbox import db
from sandbox.core import redis as redis_client
from sandbox.core.errors import RateLimited

OVERRIDE_CACHE_S = 300
NO_OVERRIDE = b"-"


def _override_key(merchant_id: str) -> str:
    return f"ratelimit:override:{merchant_id}"


async def override(merchant_id: str) -> int | None:
    """The merchant's own limit per minute (cached in Redis; the database has the truth)."""
    client = redis_client.get()
    cached = await client.get(_override_key(merchant_id))
    if cached is None:
        value = await db.fetchval("SELECT rate_limit_per_minute FROM merchant WHERE id = $1", merchant_id)
        await client.set(_override_key(merchant_id), NO_OVERRIDE if value is None else str(value), ex=OVERRIDE_CACHE_S)
        return value
    return None if cached == NO_OVERRIDE else int(cached)


async def forget_override(merchant_id: str) -> None:
    await redis_client.get().delete(_override_key(merchant_id))


# The algorithm of limits' acquire_sliding_window.lua and SlidingWindowCounter's
# get_window_stats, in one script. KEYS[1]: the override cache key (ARGV[3] = "1" when
# the principal has a merchant); KEYS[2]: the key's counter prefix. ARGV[1], ARGV[2]:
# the default limit and window (s). Returns {-1} when the override is not cached,
# else {allowed (1/0), limit, window s, remaining, ms until a slot frees}.
_SCRIPT = """
local limit, window_s = tonumber(ARGV[1]), tonumber(ARGV[2])
if ARGV[3] == '1' then
    local override = redis.call('get', KEYS[1])
    if not override then return {-1} end
    if override ~= '-' then limit, window_s = tonumber(override), 60 end
end
local expiry = window_s * 1000
local cur = KEYS[2] .. '/' .. limit .. '/' .. window_s
local prev = cur .. '/-1'
local cur_ttl = tonumber(redis.call('pttl', cur))
if cur_ttl > 0 and cur_ttl < expiry then
    -- the current window has passed: it becomes the previous one
    redis.call('rename', cur, prev)
    redis.call('set', cur, 0, 'PX', cur_ttl + expiry)
end
local prev_count = tonumber(redis.call('get', prev)) or 0
local prev_ttl = math.max(tonumber(redis.call('pttl', prev)), 0)
local cur_count = tonumber(redis.call('get', cur)) or 0
cur_ttl = math.max(tonumber(redis.call('pttl', cur)), 0)
local weighted = math.floor(prev_count * prev_ttl / expiry) + cur_count
local allowed = 0
if weighted + 1 <= limit then
    allowed = 1
    if cur_ttl > 0 then
        redis.call('incrby', cur, 1)
    else
        cur_ttl = expiry * 2
        redis.call('set', cur, 1, 'PX', cur_ttl)
    end
    cur_count = cur_count + 1
end
local weighted_after = math.floor(prev_count * prev_ttl / expiry) + cur_count
local reset = -1
if prev_count > 0 then reset = prev_ttl % (expiry / prev_count) end
if cur_count > 0 then
    local r = cur_ttl % expiry
    if reset < 0 or r < reset then reset = r end
end
if reset < 0 then reset = 0 end
return {allowed, limit, window_s, math.max(0, limit - weighted_after), math.floor(reset)}
"""


class RateLimitMiddleware(ASGIMiddleware):
    scopes = ("http",)  # type: ignore[assignment]

    def __init__(self, default: str) -> None:
        item: RateLimitItem = parse(default)
        self.default_amount, self.default_window_s = item.amount, item.get_expiry()
        self._script = None

    async def check(self, key_id: str, merchant_id: str | None) -> list[int]:
        if self._script is None:  # registered on first use: the Redis pool exists from startup on
            self._script = redis_client.get().register_script(_SCRIPT)
        keys = [_override_key(merchant_id or ""), f"ratelimit:{key_id}"]
        args = [self.default_amount, self.default_window_s, "1" if merchant_id else "0"]
        answer = await self._script(keys=keys, args=args)
        if answer[0] == -1:  # override not cached: read it once (it caches), then count
            await override(merchant_id)  # type: ignore[arg-type]
            answer = await self._script(keys=keys, args=args)
        return answer

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        principal = scope.get("state", {}).get("principal")
        if principal is None:
            await next_app(scope, receive, send)
            return
        allowed, limit, window_s, remaining, reset_ms = await self.check(principal.key_id, principal.merchant_id)
        reset = math.ceil(reset_ms / 1000)
        headers = {
            "RateLimit-Limit": str(limit),
            "RateLimit-Remaining": str(remaining),
            "RateLimit-Reset": str(reset),
            "RateLimit-Policy": f"{limit};w={window_s}",
        }
        if not allowed:
            raise RateLimited(
                f"This key may make {limit} requests per {window_s} s; retry in {max(1, reset)} s",
                headers={**headers, "Retry-After": str(max(1, reset))},
            )

        # Appended as raw pairs: nothing else sets these names, and this runs on every answer.
        raw = [(name.lower().encode(), value.encode()) for name, value in headers.items()]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *raw]
            await send(message)

        await next_app(scope, receive, send_with_headers)
