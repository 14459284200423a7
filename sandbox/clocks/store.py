"""Which merchants live on a manual test clock, and the time each such clock shows.

A merchant's kind of clock is chosen when it is created and never changes, so a
merchant found without a clock row is remembered as live-clock for the life of the
process: live merchants (the hot path) pay one query per process, not one per request."""

from __future__ import annotations

from datetime import datetime

from sandbox import db
from sandbox.core import clock
from sandbox.core.clock import ManualClock

_LIVE_REMEMBERED = 100_000  # merchants; forgetting them all costs one query each, once
_live: set[str] = set()


async def create(merchant_id: str, at: datetime) -> None:
    """Give a new merchant (in the caller's transaction) a manual clock showing `at`."""
    await db.execute("INSERT INTO merchant_clock (merchant, time) VALUES ($1, $2)", merchant_id, at)


async def manual_clock(merchant_id: str, *, lock: bool = False) -> ManualClock | None:
    """The merchant's manual clock, None for a live-clock merchant. With `lock`, the
    clock row stays locked until the caller's transaction ends: advances of one clock
    run one after the other."""
    if merchant_id in _live:
        return None
    at = await db.fetchval("SELECT time FROM merchant_clock WHERE merchant = $1" + (" FOR UPDATE" if lock else ""),
                           merchant_id)
    if at is None:
        if len(_live) >= _LIVE_REMEMBERED:
            _live.clear()
        _live.add(merchant_id)
        return None
    return ManualClock(merchant_id, at)


async def follow(merchant_id: str) -> None:
    """Work for this merchant from here on (in this task) at its clock's time: the
    clock's time on a manual clock, wall-clock time on a live one. Already following
    this merchant's clock (inside an advance), it keeps the time the advance set."""
    current = clock.on_manual_clock()
    if current is not None and current.merchant_id == merchant_id:
        return
    clock.follow(await manual_clock(merchant_id))


async def set_time(merchant_id: str, at: datetime) -> None:
    await db.execute("UPDATE merchant_clock SET time = $2 WHERE merchant = $1", merchant_id, at)
