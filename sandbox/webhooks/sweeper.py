"""The webhook sweeper (a cron job): whatever a lost wake-up, a lost job or a dead
worker left behind is picked up again — unrelayed events and overdue deliveries."""

from __future__ import annotations

import logging
from datetime import timedelta

from sandbox import db
from sandbox.core.clock import now
from sandbox.events import wakeups
from sandbox.webhooks import deliveries

log = logging.getLogger("sandbox.webhooks")

OVERDUE = timedelta(seconds=5)
LIMIT = 2000


async def sweep(overdue: timedelta = OVERDUE, limit: int = LIMIT) -> int:
    """Wake the relay if events wait longer than `overdue`, and schedule every delivery
    overdue by as much whose lease (if any) has expired. Returns how many it picked up."""
    waiting = await db.fetchval(
        "SELECT count(*) FROM (SELECT 1 FROM outbox_event WHERE relayed_at IS NULL AND created_at < $1 LIMIT $2) w",
        now() - overdue, limit)
    if waiting:
        await wakeups.enqueue_relay()
    due = await deliveries.due_for_sweep(overdue, limit)
    for row in due:
        await wakeups.schedule_attempt(row["id"], row["attempts"] + 1, None, swept=True)
    if waiting or due:
        log.info("webhook sweeper: %d events to relay, %d deliveries rescheduled", waiting, len(due))
    return waiting + len(due)
