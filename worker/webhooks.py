"""The worker's webhook jobs: the outbox relay (woken after events commit), one
delivery's next attempt, and the sweeper. Each takes ids (or nothing), reloads state
and is safe to run twice: work is claimed with SKIP LOCKED or a lease. The requests
themselves run in the worker's delivery pool, never in arq's job slots (see
sandbox/webhooks/delivery/pool.py): a relay or delivery job ends once it has handed them over."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from arq import cron, func

from sandbox.events import wakeups
from sandbox.settings import Settings, get_settings
from sandbox.webhooks.delivery import relay, sender, sweeper
from sandbox.webhooks.delivery.pool import DeliveryPool
from sandbox.webhooks.delivery.slots import Slots
from sandbox.webhooks.store import deliveries

log = logging.getLogger("worker.webhooks")


def build_pool(settings: Settings) -> DeliveryPool:
    slots = Slots(settings.webhook_concurrency, settings.webhook_per_origin, settings.webhook_per_merchant,
                  settings.listen_window)
    return DeliveryPool(sender.build(settings), slots, settings.webhook_line, settings.webhook_line_per_merchant)


async def startup(ctx: dict) -> None:
    pool = ctx["webhook_pool"] = build_pool(get_settings())
    relays: set[asyncio.Task] = ctx.setdefault("relays_here", set())
    started = ctx.setdefault("relays_here_started", [0])

    async def relay_here() -> None:
        """The events a job of this worker committed, relayed by this worker at once (in
        the background: the job goes on); a stopping worker leaves them to another's job."""
        started[0] += 1
        if pool.closing:
            await wakeups.enqueue_relay()
            return
        task = asyncio.create_task(_relay_here(pool))
        relays.add(task)
        task.add_done_callback(relays.discard)

    wakeups.relay_here(relay_here)


def relays_started(ctx: dict) -> int:
    """How many relays this worker has started for its own commits so far."""
    return ctx.get("relays_here_started", [0])[0]


async def _relay_here(pool: DeliveryPool) -> None:
    try:
        await relay.run(pool)
    except Exception:  # the events stay in the outbox: the next relay or the sweeper takes them
        log.warning("relaying this worker's events failed; the next relay takes them", exc_info=True)


def stop_taking(ctx: dict) -> None:
    """At the stop signal: the pool starts no attempt from now on and hands back what it
    holds at once, while the jobs arq cancels end (the shutdown steps wait for those
    first: one slow to end would hold the hand-back up until `up` or docker kills us)."""
    if "webhook_pool" in ctx and "webhook_hand_back" not in ctx:
        ctx["webhook_hand_back"] = asyncio.ensure_future(ctx["webhook_pool"].close())


async def shutdown(ctx: dict) -> None:
    """Finish the hand-back (or make it), then close the pool's client: no attempt can
    start on a closed client. Runs before the Redis client closes (worker.main.shutdown)."""
    if "webhook_pool" in ctx:
        pool = ctx["webhook_pool"]
        relays = list(ctx.get("relays_here", ()))
        for task in relays:  # a relay cut short rolls back: its events stay for the next
            task.cancel()
        await asyncio.gather(*relays, return_exceptions=True)
        await (ctx.pop("webhook_hand_back", None) or pool.close())
        # Jobs cancelled mid-claim after the hand-back began left their claims' tokens.
        await pool.release_left_in_doubt()
        await pool.http.aclose()


async def webhook_relay(ctx: dict) -> int:
    await wakeups.relay_started()
    return await relay.run(ctx["webhook_pool"])


async def webhook_deliver(ctx: dict, delivery_id: str) -> bool:
    started = await ctx["webhook_pool"].deliver(delivery_id)
    if not started:  # a claim names its payout on the job's line; without one, look it up
        await deliveries.name_in_log(delivery_id)
    return started


async def webhook_sweep(ctx: dict) -> int:
    return await sweeper.sweep(ctx["webhook_pool"], timedelta(seconds=get_settings().sweep_after_s))


FUNCTIONS = [
    # A relay claims up to 1,000 events and hands their first attempts to the pool.
    func(webhook_relay, name=wakeups.RELAY_JOB, keep_result=0, max_tries=3, timeout=600),
    func(webhook_deliver, name=wakeups.DELIVER_JOB, keep_result=0, max_tries=3, timeout=60),
]


def cron_jobs(settings: Settings) -> list:
    """The webhook sweeper, on the same interval as the payout sweeper."""
    every = max(1, settings.sweep_every_s)
    return [cron(webhook_sweep, name="webhook_sweep", second=set(range(0, 60, every)), run_at_startup=True,
                 keep_result=0, timeout=60)]
