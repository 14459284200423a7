"""The request log's retention, pruned by a cron every `request_log_prune_s` seconds."""

from __future__ import annotations

from arq import cron

from sandbox.requests import retention
from sandbox.settings import Settings


async def prune_request_log(ctx: dict) -> int:
    return await retention.prune()


def cron_jobs(settings: Settings) -> list:
    every = min(60, max(1, settings.request_log_prune_s))
    seconds = set(range(0, 60, every)) if 60 % every == 0 else {0}
    return [cron(prune_request_log, name="prune_request_log", second=seconds, run_at_startup=True, keep_result=0,
                 timeout=300)]
