"""A one-round-trip copy of the `limits` library's sliding window counter, following
`limits` 5.8.0 (`limits.aio.strategies.SlidingWindowCounterRateLimiter` over
`limits.aio.storage.RedisStorage` with the redis-py bridge).

Why a copy: the library counts a request in two Redis round trips (`hit`, then
`get_window_stats` for the RateLimit headers), and the rate limiter runs on every
authenticated request. This file does both in one script call. The house rule allows
a copy of a library's algorithm only like this: in one file naming the library and
version it follows, driven side by side with the library by a differential test
(tests/ratelimits/test_sliding_window_differential.py: same random keys, limits, windows and
hit sequences, Redis' clock under the test's control, same decisions and the same
remaining/reset values), with the gain shown by the benchmark.

What is copied, unchanged in meaning:
- the Redis keys (`<prefix>:{<item.key_for(id)>}` for the current window and the same
  with `/-1` for the previous one), so the copy and the library share their counters;
- `acquire_sliding_window.lua` (the hit) followed by `sliding_window.lua` (the read the
  window stats make), in one script instead of two;
- the redis-py bridge's conversion of the read, and `get_window_stats`' arithmetic for
  the remaining count and the reset time.

When upgrading `limits`, diff those two Lua files and `get_window_stats` against this
file, bump the version above, and run the differential test."""

from __future__ import annotations

import time
from math import floor, inf

from limits import RateLimitItem, RateLimitItemPerMinute, WindowStats

from sandbox.redis_client import Call, Lean, Script

FOLLOWS = ("limits", "5.8.0")

# acquire_sliding_window.lua as a function, then sliding_window.lua; returns the hit's
# decision (1/0) and the window as sliding_window.lua returns it.
LUA = Script("""
local limit = tonumber(ARGV[1])
local expiry = tonumber(ARGV[2]) * 1000
local amount = tonumber(ARGV[3])

local function acquire()
    if amount > limit then
        return false
    end

    local current_ttl = tonumber(redis.call('pttl', KEYS[2]))

    if current_ttl > 0 and current_ttl < expiry then
        redis.call('rename', KEYS[2], KEYS[1])
        redis.call('set', KEYS[2], 0, 'PX', current_ttl + expiry)
    end

    local previous_count = tonumber(redis.call('get', KEYS[1])) or 0
    local previous_ttl = tonumber(redis.call('pttl', KEYS[1])) or 0
    local current_count = tonumber(redis.call('get', KEYS[2])) or 0
    current_ttl = tonumber(redis.call('pttl', KEYS[2])) or 0

    if previous_ttl <= 0 then
        previous_ttl = 0
    end
    if current_ttl <= 0 then
        current_ttl = 0
    end
    local weighted_count = math.floor(previous_count * previous_ttl / expiry) + current_count

    if (weighted_count + amount) > limit then
        return false
    end

    if redis.call('exists', KEYS[2]) == 1 then
        redis.call('incrby', KEYS[2], amount)
    else
        redis.call('set', KEYS[2], amount, 'PX', expiry * 2)
    end

    return true
end

local allowed = acquire() and 1 or 0

local previous_count = redis.call('get', KEYS[1])
local previous_ttl = redis.call('pttl', KEYS[1])
local current_count = redis.call('get', KEYS[2])
local current_ttl = redis.call('pttl', KEYS[2])

if current_ttl > 0 and current_ttl < expiry then
    redis.call('rename', KEYS[2], KEYS[1])
    redis.call('set', KEYS[2], 0, 'PX', current_ttl + expiry)
    previous_count = redis.call('get', KEYS[1])
    previous_ttl = redis.call('pttl', KEYS[1])
    current_count = redis.call('get', KEYS[2])
    current_ttl = redis.call('pttl', KEYS[2])
end

return {allowed, previous_count, previous_ttl, current_count, current_ttl}
""")


KEY_PREFIX = "ratelimit"
_NAMESPACE = RateLimitItemPerMinute(1).namespace  # the library's default, which every limit here has


def keys_prefix(identifier: str) -> str:
    """What the keys of `identifier`'s windows start with, whatever its limit (`key_for`:
    the namespace, the identifier, then the limit's own parts); retention removes them
    with the merchant whose key it is."""
    return f"{KEY_PREFIX}:{{{_NAMESPACE}/{identifier}/"


class SlidingWindowCounter:
    """`hit` and `get_window_stats` of the library's limiter, in one round trip (one
    EVALSHA through `redis`'s lean calls: redis_client.Lean)."""

    CALLS_KEPT = 4096

    def __init__(self, redis: Lean, key_prefix: str = KEY_PREFIX) -> None:
        self.key_prefix = key_prefix  # the library's RedisStorage default is "LIMITS"
        self._redis = redis
        # Each request of an API key makes the same call (its limit, its two keys, a cost of
        # one): packed once (redis_client.Call), kept for the next.
        self._calls: dict[tuple[RateLimitItem, str, int], Call] = {}

    def _call(self, item: RateLimitItem, identifier: str, cost: int) -> Call:
        call = self._calls.get((item, identifier, cost))
        if call is None:
            if len(self._calls) >= self.CALLS_KEPT:
                self._calls.clear()
            current = f"{self.key_prefix}:{{{item.key_for(identifier)}}}"
            call = self._calls[(item, identifier, cost)] = self._redis.prepare(
                LUA, (f"{current}/-1", current), (item.amount, item.get_expiry(), cost))
        return call

    async def hit(self, item: RateLimitItem, identifier: str, cost: int = 1) -> tuple[bool, WindowStats]:
        expiry = item.get_expiry()
        allowed, *window = await self._redis.call(self._call(item, identifier, cost))
        # The redis-py bridge's conversion (get_sliding_window).
        previous_count = int(window[0] or 0)
        previous_expires_in = max(0, float(window[1] or 0)) / 1000
        current_count = int(window[2] or 0)
        current_expires_in = max(0, float(window[3] or 0)) / 1000
        # get_window_stats.
        weighted = previous_count * previous_expires_in / expiry + current_count
        remaining = max(0, item.amount - floor(weighted))
        now = time.time()
        if not (previous_count or current_count):
            return bool(allowed), WindowStats(now, remaining)
        previous_reset_in, current_reset_in = inf, inf
        if previous_count:
            previous_reset_in = previous_expires_in % (expiry / previous_count)
        if current_count:
            current_reset_in = current_expires_in % expiry
        return bool(allowed), WindowStats(now + min(previous_reset_in, current_reset_in), remaining)
