"""The process's Redis client (one pool per process)."""

from __future__ import annotations

from redis.asyncio import Redis

_client: Redis | None = None


async def start(url: str) -> Redis:
    global _client
    if _client is None:
        _client = Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2, health_check_interval=10)
    return _client


def get() -> Redis:
    if _client is None:
        raise RuntimeError("Redis is not started")
    return _client


async def stop() -> None:
    global _client
    if _client is not None:
        client, _client = _client, None
        await client.aclose()
