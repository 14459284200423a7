"""Making a leased attempt and deciding what follows: done on a 2xx, the next attempt on
the retry schedule otherwise (the Standard Webhooks schedule x SANDBOX_TIME_SCALE with
+-10 % jitter, later if a 429/503 asks with Retry-After), failed after the last one, and
on 410 Gone the endpoint is disabled."""

from __future__ import annotations

import logging
import random
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from sandbox import db
from sandbox.core.clock import time_scale
from sandbox.events import wakeups
from sandbox.settings import get_settings
from sandbox.webhooks.delivery import listener_link, sender
from sandbox.webhooks.delivery.slots import Slots
from sandbox.webhooks.model import faults as fault_rules
from sandbox.webhooks.store import deliveries, target_policy
from sandbox.webhooks.store.deliveries import FAILED, PENDING, SUCCEEDED, Outcome, Target
from sandbox.webhooks.store.recorder import Recorder

log = logging.getLogger("sandbox.webhooks")

RETRY_AFTER_STATUSES = frozenset({429, 503})


def explain(sent: sender.Sent) -> str | None:
    """Why the attempt did not count as delivered (None if it did)."""
    first = sent.first
    code = first.status_code
    if code is None:
        return first.error
    if fault_rules.FAIL_FIRST in first.faults:
        return f"HTTP {code}, counted as failed by fault injection (fail_first_attempts)"
    if 200 <= code < 300:
        return None
    if 300 <= code < 400:
        return f"HTTP {code}: redirects are not followed" + (f" (to {sent.location})" if sent.location else "")
    if code == 410:
        return "HTTP 410 Gone: the endpoint is disabled"
    return f"HTTP {code}"


def decide(target: Target, sent: sender.Sent, error: str | None) -> tuple[str, datetime | None]:
    if error is None:
        return SUCCEEDED, None
    first = sent.first
    if first.status_code == 410:
        return FAILED, None
    asked = None
    if first.status_code in RETRY_AFTER_STATUSES:
        asked = retry_after(sent.retry_after, first.at)
    next_at = next_attempt_at(target.attempt, first.at, asked)
    return (PENDING, next_at) if next_at is not None else (FAILED, None)


async def attempt(http: sender.WebhookClient, slots: Slots, recorder: Recorder, target: Target) -> bool:
    """Send, record, and schedule what comes next. Never raises. True when it could not
    run before anything was sent (PostgreSQL or Redis gone as it began): the caller hands
    the delivery back, due at once, when it can. Otherwise a lost attempt leaves an
    expiring lease, and the sweeper schedules the delivery again once it runs out."""
    sending = False
    try:
        async with slots.take(target.merchant, target.url):
            if not await deliveries.keep_lease(target):
                return False
            # What the client's refusal of addresses inside the network reads, read here:
            # PostgreSQL lost at this point must hand the delivery back at once, as nothing
            # was sent, rather than leave it leased for a minute and a half.
            await target_policy.keep_fresh()
            sending = True
            try:
                sent = await sender.send(http, target)
            except listener_link.Absent:
                # A listener endpoint with nobody listening: no attempt was made. The delivery
                # waits, parked, until a listener connects (its stream un-parks it).
                await deliveries.park(target)
                return False
        error = explain(sent)
        sent.first.error = sent.first.error or error
        status, next_at = decide(target, sent, error)
        outcome = Outcome(target, sent.records, status, next_at, error)
        if sent.first.status_code == 410:
            async with db.transaction():
                await deliveries.record([outcome])
                await disable_endpoint(target.endpoint_id, sent.first.at)
        else:
            await recorder.record(outcome)
        if status == PENDING:
            await wakeups.schedule_attempt(target.delivery_id, target.attempt + 1, next_at)
    except Exception:
        log.exception("webhook delivery %s attempt %d failed to run", target.delivery_id, target.attempt)
        return not sending
    return False


async def disable_endpoint(endpoint_id: str, at: datetime) -> None:
    await db.execute(
        "UPDATE webhook_endpoint SET status = 'disabled', disabled_reason = $2, updated_at = $3"
        " WHERE id = $1 AND status = 'enabled'",
        endpoint_id, "the receiver answered 410 Gone", at)
    await deliveries.close_pending(endpoint_id, FAILED, "endpoint disabled (410 Gone)")


# Delay before each attempt: the first goes at once, the eighth is the last.
SCHEDULE_S = (0, 5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600)
MAX_ATTEMPTS = len(SCHEDULE_S)
JITTER = 0.1
# A receiver may ask us to wait, but not for longer than the longest step of the schedule.
MAX_RETRY_AFTER = timedelta(seconds=max(SCHEDULE_S))


def backoff(next_attempt: int, scale: float | None = None) -> timedelta:
    """The scheduled, jittered wait before attempt `next_attempt` (2..MAX_ATTEMPTS), at
    `scale` (SANDBOX_TIME_SCALE unless given)."""
    seconds = SCHEDULE_S[next_attempt - 1] * (time_scale() if scale is None else scale)
    jittered = seconds * (1 + random.uniform(-JITTER, JITTER))
    # A floor in real time, whatever the scale: at scale 0 a receiver that restarts for a
    # moment would otherwise see all eight attempts fail within milliseconds.
    return timedelta(seconds=max(jittered, get_settings().webhook_retry_floor_s))


def retry_after(value: str | None, at: datetime) -> timedelta | None:
    """`Retry-After` as seconds or an HTTP date; None when absent or unreadable. It is the
    receiver's own request, so it is honoured in real time, not scaled."""
    if not value:
        return None
    value = value.strip()
    try:
        wait = timedelta(seconds=max(0, int(value)))
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        wait = max(when - at, timedelta(0))
    return min(wait, MAX_RETRY_AFTER)


def next_attempt_at(attempt: int, at: datetime, asked: timedelta | None,
                    scale: float | None = None) -> datetime | None:
    """When attempt `attempt + 1` is due after attempt `attempt` failed at `at`; None
    when `attempt` was the last."""
    if attempt >= MAX_ATTEMPTS:
        return None
    wait = backoff(attempt + 1, scale)
    if asked is not None:
        wait = max(wait, asked)
    return at + wait
