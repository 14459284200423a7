"""Events are written to the outbox in the same transaction as the change they
describe; the worker relays them to webhook endpoints."""

from __future__ import annotations

from datetime import datetime

import msgspec

from sandbox import db
from sandbox.core.clock import now
from sandbox.core.ids import new_id


async def emit(merchant_id: str, event_type: str, data: dict, payout_id: str | None = None,
               at: datetime | None = None) -> str:
    event_id = new_id("evt")
    await db.execute(
        "INSERT INTO outbox_event (id, merchant, type, payout_id, data, created_at, relayed_at)"
        " VALUES ($1, $2, $3, $4, $5::jsonb, $6, NULL)",
        event_id,
        merchant_id,
        event_type,
        payout_id,
        msgspec.json.encode(data).decode(),
        at or now(),
    )
    return event_id
