"""Writing events: each is written to the outbox in the same transaction as the change it
describes, by the database function `outbox_emit(id, merchant, type, payout_id, data,
at, request)` (alone through `emit`, or inside a larger statement such as a payout's,
which then calls `event_written`), with the API request that caused it when one did
(`sandbox.idempotency.cause`); once that transaction commits, the worker's relay is woken to
fan them out to webhook endpoints (and the sweeper relays anything a lost wake-up left
behind)."""

from __future__ import annotations

import weakref
from datetime import datetime

import msgspec

from sandbox import db
from sandbox.core.clock import now
from sandbox.core.ids import new_id
from sandbox.events import wakeups
from sandbox.idempotency import cause

# Transactions that already wake the relay when they commit (one wake-up each).
_waking: weakref.WeakSet = weakref.WeakSet()


async def emit(merchant_id: str, event_type: str, data: dict, payout_id: str | None = None,
               at: datetime | None = None) -> str:
    event_id = new_id("evt")
    await db.execute(
        "SELECT outbox_emit($1, $2, $3, $4, $5::jsonb, $6, $7::jsonb)",
        event_id,
        merchant_id,
        event_type,
        payout_id,
        msgspec.json.encode(data).decode(),
        at or now(),
        cause.current_json(),
    )
    await event_written()
    return event_id


async def event_written() -> None:
    """After an outbox_event row is written (by emit, or inside a larger statement such as
    a payout's): wake the relay once the transaction commits, once per transaction."""
    tx = db.current()
    if tx is not None:
        if tx in _waking:
            return
        _waking.add(tx)
    await wakeups.wake_relay_after_commit()
