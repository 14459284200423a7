"""The idempotency key pruner: once a minute, expired keys are deleted in batches."""

from __future__ import annotations

from arq import cron

from sandbox.idempotency import prune


async def prune_idempotency_keys(ctx: dict) -> int:
    return await prune.prune_expired()


def cron_jobs() -> list:
    return [cron(prune_idempotency_keys, name="prune_idempotency_keys", second={30}, run_at_startup=True,
                 keep_result=0, timeout=300)]
