"""The balance summary's Redis cache, per merchant, at most 120 s.

Values are stored under the merchant's ledger version (`sandbox.ledger.version`), which
the ledger bumps once a transaction that moved the merchant's money commits; readers
look only at the value stored under the current version. A reader that computed from
older data stores it under the older version, where nobody looks — so a change is
visible at once, even racing a slow reader."""

from __future__ import annotations

from sandbox import redis_client
from sandbox.ledger import version as ledger_version


def _value_key(merchant_id: str, generation: int) -> str:
    return f"{keys_prefix(merchant_id)}{generation}"


def keys_prefix(merchant_id: str) -> str:
    """What every one of the merchant's cached summaries' keys starts with (retention
    removes them with the merchant)."""
    return f"summary:{merchant_id}:"


async def generation(merchant_id: str) -> int:
    return await ledger_version.current(merchant_id)


async def read(merchant_id: str, gen: int) -> bytes | None:
    return await redis_client.get().get(_value_key(merchant_id, gen))


async def store(merchant_id: str, gen: int, value: bytes, ttl_s: int) -> None:
    await redis_client.get().set(_value_key(merchant_id, gen), value, ex=ttl_s)
