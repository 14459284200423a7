"""Deleting idempotency keys whose 24 hours are over (a worker cron job).

Lookups already ignore an expired row, so deleting it changes no answer; it only keeps
the table from growing with every key ever sent. Rows go in small batches, each its
own short statement found through the `expires_at` index, and rows another transaction
holds are skipped (the next run gets them): no long lock, no scan of the whole table."""

from __future__ import annotations

from sandbox import db

BATCH = 1000
MAX_BATCHES = 50  # per run: a larger backlog waits for the next run, a minute later

_DELETE_SQL = """
DELETE FROM idempotency_key WHERE id IN (
    SELECT id FROM idempotency_key WHERE expires_at <= now() ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED)
"""


async def prune_expired(batch: int = BATCH, max_batches: int = MAX_BATCHES) -> int:
    """Delete expired keys; returns how many went."""
    deleted = 0
    for _ in range(max_batches):
        status = await db.execute(_DELETE_SQL, batch)
        count = int(status.split()[-1])
        deleted += count
        if count < batch:
            break
    return deleted
