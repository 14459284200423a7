"""The balance summary's Redis cache, per merchant, at most 120 s.

Invalidation bumps a per-merchant generation number once the transaction that moved
money commits; readers look only at the value stored under the current generation. A
reader that computed from older data stores it under the older generation, where
nobody looks — so a change is visible at once, even racing a slow reader."""

from __future__ import annotations

import weakref

from sandbox import db
from sandbox.core import queue
from sandbox.core import redis as redis_client

GENERATION_TTL_S = 7 * 24 * 3600

# Transactions that already invalidate a merchant when they commit (once each).
_pending: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _generation_key(merchant_id: str) -> str:
    return f"summary:gen:{merchant_id}"


def _value_key(merchant_id: str, generation: int) -> str:
    return f"summary:{merchant_id}:{generation}"


async def generation(merchant_id: str) -> int:
    raw = await redis_client.get().get(_generation_key(merchant_id))
    return int(raw) if raw is not None else 0


async def read(merchant_id: str, gen: int) -> bytes | None:
    return await redis_client.get().get(_value_key(merchant_id, gen))


async def store(merchant_id: str, gen: int, value: bytes, ttl_s: int) -> None:
    await redis_client.get().set(_value_key(merchant_id, gen), value, ex=ttl_s)


async def invalidate_after_commit(merchant_id: str) -> None:
    """Called by the ledger for every posting: drop the merchant's cached summary once the
    current transaction commits (once per merchant and transaction, in the pipeline that
    carries the transaction's other Redis commands, e.g. its payout's next step)."""
    tx = db.current()
    if tx is not None:
        merchants = _pending.setdefault(tx, set())
        if merchant_id in merchants:
            return
        merchants.add(merchant_id)

    def add(pipe) -> None:
        pipe.incr(_generation_key(merchant_id))
        pipe.expire(_generation_key(merchant_id), GENERATION_TTL_S)

    await queue.redis_after_commit(add)
