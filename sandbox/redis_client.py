"""The process's Redis client: one arq pool (a redis.asyncio client that can also
enqueue jobs) per process.

Every command has a deadline (SOCKET_TIMEOUT_S): a Redis that accepts connections but
answers nothing (stopped, stuck, packets dropped) makes a request fail with a timeout,
mapped to 503, instead of hanging it (seen in the frozen-Redis fault test: without one,
every authenticated request waited on the rate limiter for as long as Redis was frozen)."""

from __future__ import annotations

import asyncio
import logging

from arq.connections import ArqRedis, RedisSettings
from redis.exceptions import RedisError

log = logging.getLogger("sandbox.redis")

CONNECT_TIMEOUT_S = 2.0
SOCKET_TIMEOUT_S = 3.0
START_ATTEMPTS = 4  # at startup: Redis may still be coming up beside us

_client: ArqRedis | None = None


class _Client(ArqRedis):
    """Each command has one deadline for all of it: redis-py connects a pool connection
    while holding the pool's lock, so against a frozen server the socket timeout alone
    lets requests queue behind each other (seen: 3, 6, 9, 12 s, …)."""

    async def execute_command(self, *args, **options):
        async with asyncio.timeout(SOCKET_TIMEOUT_S):
            return await super().execute_command(*args, **options)


def redis_settings(url: str) -> RedisSettings:
    """For arq's own pool in the worker (polling the queue)."""
    settings = RedisSettings.from_dsn(url)
    settings.conn_timeout = 2
    settings.conn_retries = 3
    return settings


async def start(url: str) -> ArqRedis:
    global _client
    if _client is None:
        # from_url: the client owns its pool, so aclose() closes the connections too.
        client = _Client.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT_S, socket_timeout=SOCKET_TIMEOUT_S)
        for attempt in range(1, START_ATTEMPTS + 1):
            try:
                await client.ping()
                break
            except (RedisError, OSError) as exc:
                if attempt == START_ATTEMPTS:
                    await client.aclose()
                    raise
                log.warning("Redis is not answering yet (%s); retrying", exc)
                await asyncio.sleep(1)
        _client = client
    return _client


def get() -> ArqRedis:
    if _client is None:
        raise RuntimeError("Redis is not started")
    return _client


async def stop() -> None:
    global _client
    if _client is not None:
        client, _client = _client, None
        await client.aclose()
