"""When the next attempt happens: the Standard Webhooks schedule (× SANDBOX_TIME_SCALE,
with ±10 % jitter, never sooner than SANDBOX_WEBHOOK_RETRY_FLOOR_S), or later if the
receiver asked for it with `Retry-After`."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from sandbox.core.clock import time_scale
from sandbox.settings import get_settings

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
