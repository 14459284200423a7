"""Settlement jobs: a cron run every `settlement_interval_s` × time scale (at least every
second, at most every minute; each run settles what is due by then)."""

from __future__ import annotations

from arq import cron

from sandbox.settings import Settings
from sandbox.settlements import service


async def settle_due(ctx: dict) -> int:
    return await service.run_due()


def cron_jobs(settings: Settings) -> list:
    every = min(60, max(1, round(settings.settlement_interval_s * settings.time_scale)))
    seconds = set(range(0, 60, every)) if 60 % every == 0 else {0}
    return [cron(settle_due, name="settle_due", second=seconds, run_at_startup=True, keep_result=0, timeout=300)]
