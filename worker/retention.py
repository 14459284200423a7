"""Merchant retention: every SANDBOX_RETENTION_EVERY_MIN minutes, one bounded pass removes
up to SANDBOX_RETENTION_BATCH merchants idle longer than SANDBOX_RETENTION_DAYS
(sandbox/retention/sweep.py: each merchant in its own transaction, read again under its
lock, so a pass run twice removes nothing twice; one INFO line and the metrics say what
each pass removed)."""

from __future__ import annotations

from arq import cron

from sandbox.retention import sweep
from sandbox.settings import Settings, get_settings


async def remove_idle_merchants(ctx: dict) -> int:
    settings = get_settings()
    return len((await sweep.sweep(settings.retention_days, settings.retention_batch)).merchants)


def cron_jobs(settings: Settings) -> list:
    every = min(60, max(1, settings.retention_every_min))
    minutes = set(range(0, 60, every)) if 60 % every == 0 else {0}
    return [cron(remove_idle_merchants, name="remove_idle_merchants", minute=minutes, second={45},
                 run_at_startup=False, keep_result=0, timeout=600)]
