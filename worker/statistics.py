"""The queue tables' first statistics (sandbox/queue_statistics.py), checked on the
sweeper's interval: one small query each time, and an ANALYZE once per table."""

from __future__ import annotations

from arq import cron

from sandbox import queue_statistics
from sandbox.settings import Settings


async def analyze_new_queues(ctx: dict) -> list[str]:
    return await queue_statistics.analyze_new()


def cron_jobs(settings: Settings) -> list:
    every = max(1, settings.sweep_every_s)
    return [cron(analyze_new_queues, name="analyze_new_queues", second=set(range(0, 60, every)),
                 run_at_startup=True, keep_result=0, timeout=60)]
