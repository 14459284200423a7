"""The outbox relay: claim unrelayed events in batches (their lines in `outbox_unrelayed`,
taken out FOR UPDATE SKIP LOCKED, so any number of workers share the work), make one
delivery per matching endpoint — all in one transaction — then hand the first attempts to
the worker's delivery pool, which makes them at once (the relay does not wait for them).

Events relayed and deliveries made commit together: a relay that dies before its
commit leaves the events for the next one; after it, the deliveries are there and the
sweeper attempts any that the dead relay did not."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sandbox import db
from sandbox.core.clock import now
from sandbox.events import wakeups
from sandbox.webhooks.delivery.pool import DeliveryPool
from sandbox.webhooks.model import event_types
from sandbox.webhooks.store import deliveries
from sandbox.webhooks.store.deliveries import NewDelivery, Target

BATCH = 100
MAX_BATCHES = 10  # per job; a longer backlog is handed to a fresh relay job

# In the order the events were emitted: a claimed group writes a payout's steps in one
# statement, often at one instant, and `number` keeps their order where the time ties (a
# receiver, and each delivery's `seq`, see them in that order). The claim takes the events'
# lines out of `outbox_unrelayed` (locked, skipping what another relay holds) in the
# transaction that makes their deliveries: the event's own row is only read.
_CLAIM_SQL = """
WITH taken AS (
    DELETE FROM outbox_unrelayed WHERE (created_at, number) IN (
        SELECT created_at, number FROM outbox_unrelayed
         ORDER BY created_at, number LIMIT $1 FOR UPDATE SKIP LOCKED)
    RETURNING number
)
SELECT e.id, e.merchant, e.type, e.data, e.request, e.created_at, e.sequence
  FROM outbox_event e JOIN taken USING (number)
 ORDER BY e.created_at, e.number
"""


async def fan_out(lease: int, token: str | None = None, limit: int = BATCH, room: Callable[[str], int] | None = None
                  ) -> tuple[int, list[Target], list[tuple[str, datetime]]]:
    """Relay up to `limit` events. Returns how many were claimed, the deliveries (up to
    `lease`, and of a merchant up to `room(merchant)`, under `token`) leased for an
    attempt now, and the (delivery id, due) of the others: held back by a fault delay, or
    due now beyond `lease` or the merchant's room."""
    at = now()
    async with db.transaction():
        events = await db.fetch(_CLAIM_SQL, limit)
        if not events:
            return 0, [], []
        endpoints = await deliveries.lock_endpoints(
            "merchant = ANY($1::varchar[]) AND status = 'enabled' AND deleted_at IS NULL",
            list({e["merchant"] for e in events}))
        by_merchant: dict[str, list] = {}
        for endpoint in endpoints:
            endpoint_events = event_types.decode_patterns(endpoint["events"])
            by_merchant.setdefault(endpoint["merchant"], []).append((endpoint, endpoint_events))
        new = [
            NewDelivery(event, endpoint)
            for event in events
            for endpoint, patterns in by_merchant.get(event["merchant"], ())
            if endpoint["created_at"] <= event["created_at"] and event_types.matches_any(patterns, event["type"])
        ]
        merchant_room = None if room is None else {m: room(m) for m in by_merchant}
        ready, held = await deliveries.create(new, at, lease=lease, token=token, merchant_room=merchant_room)
    return len(events), ready, held


async def run(pool: DeliveryPool) -> int:
    """Relay until the outbox is empty (or MAX_BATCHES, then hand over); returns the
    number of events relayed. First attempts go to `pool`, as many as it has room for;
    the others stay due in the database, where a pool's refill takes them in turn.

    One relay at a time in a worker: a relay job woken while another runs returns at
    once, and the running one looks again before it ends. Relays side by side only
    queued on each other's endpoint locks (every batch covers most merchants): a 3-minute
    soak at 200 POST/s had nine at a time, each waiting 1.2 s for its lock while holding
    its events, and the others' claims skipping those rows cost PostgreSQL 25 ms a call
    (docs/benchmark.md, issue 45). Relays of different workers still share the outbox
    through SKIP LOCKED."""
    if pool.relaying:
        pool.relay_again = True
        return 0
    pool.relaying = True
    relayed, emptied = 0, False
    try:
        for _ in range(MAX_BATCHES):
            pool.relay_again = False
            claimed = await _relay_batch(pool)
            relayed += claimed
            if claimed < BATCH and not pool.relay_again:
                emptied = True
                break
    finally:
        pool.relaying = False
    if not emptied:
        await wakeups.enqueue_relay()
    return relayed


async def _relay_batch(pool: DeliveryPool) -> int:
    with pool.leasing() as token:  # the commit's answer may be lost, not the commit
        # Only what the pool starts at once is leased: a delivery leased and handed
        # straight back (its merchant's line full) costs a round trip, and for that
        # moment counts against its merchant as if the worker held it.
        claimed, ready, held = await fan_out(pool.room(), token, room=pool.merchant_room)
    await pool.take(ready)
    waiting = False
    for delivery_id, due in held:
        if due > now():
            await wakeups.schedule_attempt(delivery_id, 1, due)
        else:
            waiting = True
    if waiting:
        pool.refill()
    return claimed
