"""The process's Redis client: one arq pool (a redis.asyncio client that can also
enqueue jobs) per process."""

from __future__ import annotations

from arq import create_pool
from arq.connections import ArqRedis, RedisSettings

_client: ArqRedis | None = None


def redis_settings(url: str) -> RedisSettings:
    settings = RedisSettings.from_dsn(url)
    settings.conn_timeout = 2
    settings.conn_retries = 3
    return settings


async def start(url: str) -> ArqRedis:
    global _client
    if _client is None:
        _client = await create_pool(redis_settings(url))
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
