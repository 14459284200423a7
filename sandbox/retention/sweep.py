"""One retention pass (the worker's cron job, worker/retention.py): up to `batch` idle
merchants removed, each in its own transaction (removal.py), then its keys in Redis
(redis_keys.py). Every pass says what it did: one INFO line (`sandbox.retention`: the
merchants removed, the rows per table, the Redis keys) and the totals in /metrics
(metrics.py), kept in a Redis hash that every worker adds to."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from redis.exceptions import RedisError

from sandbox import redis_client
from sandbox.core.timestamps import iso
from sandbox.retention import redis_keys, removal

log = logging.getLogger("sandbox.retention")

METRICS_KEY = "sandbox:metrics:retention"  # sweeps, merchants, redis_keys, rows|<table>, last_sweep_at


@dataclass
class Sweep:
    """What one pass removed."""

    merchants: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=lambda: dict.fromkeys(removal.TABLES, 0))
    redis_keys: int = 0

    def add(self, merchant_id: str, rows: dict[str, int], keys: int) -> None:
        self.merchants.append(merchant_id)
        for table, n in rows.items():
            self.rows[table] += n
        self.redis_keys += keys

    def words(self) -> str:
        rows = ", ".join(f"{table} {n}" for table, n in self.rows.items() if n) or "none"
        return (f"{len(self.merchants)} merchants, {sum(self.rows.values())} rows ({rows}), "
                f"{self.redis_keys} Redis keys")


async def sweep(idle_days: float, batch: int) -> Sweep:
    """One bounded pass. A period of 0 turns retention off (no pass, no line)."""
    done = Sweep()
    if idle_days <= 0:
        return done
    before = removal.cutoff(idle_days)
    picked = [r["id"] for r in await removal.idle(before, batch)]
    admin_key_ids = await removal.admin_keys()
    keys = await _keys_of(picked)
    for merchant_id in picked:
        rows = await removal.remove(merchant_id, before, admin_key_ids)
        if rows is not None:
            done.add(merchant_id, rows, await _remove_keys(keys.get(merchant_id, [])))
    await _record(done)
    log.info("retention: removed %s idle since before %s", done.words(), iso(before),
             extra={"merchants": done.merchants, "rows": {t: n for t, n in done.rows.items() if n},
                    "redis_keys": done.redis_keys})
    return done


async def _keys_of(merchant_ids: list[str]) -> dict[str, list[str]]:
    try:
        return await redis_keys.of(merchant_ids)
    except RedisError as exc:  # the rows go all the same; the keys expire on their own
        log.warning("retention: Redis unreachable (%s); removed merchants' keys are left to expire", exc)
        return {}


async def _remove_keys(keys: list[str]) -> int:
    try:
        return await redis_keys.remove(keys)
    except RedisError as exc:
        log.warning("retention: Redis unreachable (%s); %d keys left to expire", exc, len(keys))
        return 0


async def _record(done: Sweep) -> None:
    """Add the pass to the totals /metrics serves (a lost write loses one pass's numbers)."""
    try:
        async with redis_client.get().pipeline(transaction=True) as pipe:
            pipe.hincrby(METRICS_KEY, "sweeps", 1)
            pipe.hincrby(METRICS_KEY, "merchants", len(done.merchants))
            pipe.hincrby(METRICS_KEY, "redis_keys", done.redis_keys)
            for table, n in done.rows.items():
                pipe.hincrby(METRICS_KEY, f"rows|{table}", n)
            pipe.hset(METRICS_KEY, "last_sweep_at", repr(time.time()))
            await pipe.execute()
    except RedisError as exc:
        log.warning("retention: Redis unreachable (%s); this pass is missing from /metrics", exc)
