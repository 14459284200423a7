"""The webhook sweeper (a cron job): whatever a lost wake-up, a lost job or a dead
worker left behind is picked up again — unrelayed events and due deliveries (a lost
job's, an expired lease's, or a backlog the pools have not taken yet)."""

from __future__ import annotations

import logging
from datetime import timedelta

from sandbox import db
from sandbox.core.clock import now
from sandbox.events import wakeups
from sandbox.webhooks.delivery.pool import DeliveryPool

log = logging.getLogger("sandbox.webhooks")

OVERDUE = timedelta(seconds=5)
LIMIT = 2000


async def sweep(pool: DeliveryPool, overdue: timedelta = OVERDUE, limit: int = LIMIT) -> int:
    """Wake the relay if events wait longer than `overdue`, and have the worker's pool
    take due deliveries (it claims them itself, the oldest first, as far as it has
    room), after releasing what claims that failed may have leased. Returns how many
    events were waiting."""
    await pool.release_in_doubt()
    waiting = await db.fetchval(
        "SELECT count(*) FROM (SELECT 1 FROM outbox_unrelayed WHERE created_at < $1 LIMIT $2) w",
        now() - overdue, limit)
    if waiting:
        await wakeups.enqueue_relay()
        log.info("webhook sweeper: %d events to relay", waiting)
    pool.refill()
    await pool.wait_refilled()
    return waiting
