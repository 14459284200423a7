"""The worker's webhook jobs: the outbox relay (woken after events commit), one
delivery's next attempt, and the sweeper. Each takes ids (or nothing), reloads state
and is safe to run twice: work is claimed with SKIP LOCKED or a lease."""

from __future__ import annotations

from datetime import timedelta

from arq import cron, func

from sandbox.events import wakeups
from sandbox.settings import Settings, get_settings
from sandbox.webhooks import attempts, relay, sender, sweeper
from sandbox.webhooks.slots import Slots


async def startup(ctx: dict) -> None:
    settings = get_settings()
    ctx["webhook_http"] = sender.build(settings)
    ctx["webhook_slots"] = Slots(settings.webhook_concurrency, settings.webhook_per_origin)


async def shutdown(ctx: dict) -> None:
    if "webhook_http" in ctx:
        await ctx["webhook_http"].aclose()


async def webhook_relay(ctx: dict) -> int:
    await wakeups.relay_started()
    return await relay.run(ctx["webhook_http"], ctx["webhook_slots"])


async def webhook_deliver(ctx: dict, delivery_id: str) -> bool:
    return await attempts.deliver(ctx["webhook_http"], ctx["webhook_slots"], delivery_id)


async def webhook_sweep(ctx: dict) -> int:
    return await sweeper.sweep(timedelta(seconds=get_settings().sweep_after_s))


FUNCTIONS = [
    # A relay waits for the first attempts it leased: up to 1,000 at SANDBOX_WEBHOOK_TIMEOUT_S each,
    # SANDBOX_WEBHOOK_CONCURRENCY at a time, in the worst case.
    func(webhook_relay, name=wakeups.RELAY_JOB, keep_result=0, max_tries=3, timeout=3600),
    func(webhook_deliver, name=wakeups.DELIVER_JOB, keep_result=0, max_tries=3, timeout=120),
]


def cron_jobs(settings: Settings) -> list:
    """The webhook sweeper, on the same interval as the payout sweeper."""
    every = max(1, settings.sweep_every_s)
    return [cron(webhook_sweep, name="webhook_sweep", second=set(range(0, 60, every)), run_at_startup=True,
                 keep_result=0, timeout=60)]
