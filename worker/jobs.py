"""The worker's jobs. Each takes ids, reloads state and is safe to run twice."""

from __future__ import annotations

import logging
from datetime import timedelta

import httpx
from arq import Retry

from sandbox.events import wakeups
from sandbox.payouts.lifecycle import due_claims, engine
from sandbox.rail import client as rail
from sandbox.settings import get_settings
from worker import webhooks

log = logging.getLogger("worker")

# Back-off for rail callbacks the IPN service did not take (down, 5xx): seconds per try.
RAIL_RETRY_S = (1, 2, 5, 10, 30)


async def step_payout(ctx: dict, payout_id: str, track: str, index: int) -> bool:
    return await engine.advance(payout_id, track, index)


async def step_due(ctx: dict) -> int:
    """The due steps (`due_claims.step_due`), then the outbox relayed by this worker unless
    a commit of the pass started its relay already: a commit that wakes this job wakes no
    relay job (sandbox/events/wakeups.py), so the events it wrote are relayed here."""
    relays = webhooks.relays_started(ctx)
    claimed = await due_claims.step_due()
    if webhooks.relays_started(ctx) == relays:
        await wakeups.relay_now()
    return claimed


async def step_payouts(ctx: dict, payout_ids: list[str], track: str, index: int) -> int:
    """The same step of several payouts (a batch's), each in its own transaction as
    `step_payout` applies it: one arq job instead of one each. arq's claim and finish of a
    job were most of the worker's CPU per payout (py-spy). A payout whose step fails does
    not stop the others; the job then fails and its retry redoes only what is left (a
    step already applied is a no-op)."""
    applied, failed = 0, None
    for payout_id in payout_ids:
        try:
            applied += await engine.advance(payout_id, track, index)
        except Exception as exc:
            log.warning("step_payouts: %s failed: %s", payout_id, exc)
            failed = failed or exc
    if failed is not None:
        raise failed
    return applied


async def rail_notify(ctx: dict, psp_reference: str, notification_id: str, status: str,
                      failure_code: str | None) -> int | None:
    notification = rail.Notification(psp_reference=psp_reference, notification_id=notification_id,
                                     status=status, failure_code=failure_code)
    try:
        return await rail.send(ctx["http"], notification)
    except rail.CallbackRefused as exc:
        log.warning("rail callback %s refused: %s", notification_id, exc)
        return None
    except (httpx.HTTPError, OSError) as exc:
        tries = ctx.get("job_try", 1)
        log.warning("rail callback %s failed (try %d): %s", notification_id, tries, exc)
        raise Retry(defer=RAIL_RETRY_S[min(tries, len(RAIL_RETRY_S)) - 1]) from exc


async def sweep(ctx: dict) -> int:
    return await engine.sweep(timedelta(seconds=get_settings().sweep_after_s))
