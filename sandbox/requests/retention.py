"""Keeping the request log to its retention: 24 hours and a merchant's last 10,000
entries by default (settings). The worker's cron prunes it; the request path never does.
Spent fault rules go with the requests that spent them: those made before the log's
retention age are deleted in the same pass."""

from __future__ import annotations

from datetime import timedelta

from sandbox.faults import store as faults
from sandbox.requests import store
from sandbox.settings import get_settings

# The newest entry number the last pass saw: the next pass looks only at merchants that
# wrote after it. A new process starts from 0 and so looks at every merchant once.
_seen = 0


async def prune(keep: int | None = None) -> int:
    """One pass; returns the number of entries deleted. `keep`: instead of the setting."""
    global _seen
    settings = get_settings()
    keep = settings.request_log_max if keep is None else keep
    age = timedelta(hours=settings.request_log_hours)
    deleted, _seen = await store.prune(age, keep, _seen)
    await faults.prune_spent(age)
    return deleted
