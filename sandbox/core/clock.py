"""Wall-clock time and simulated delays (`SANDBOX_TIME_SCALE` multiplies every delay),
and the merchant's test clock when it has one.

A merchant on a manual test clock lives at the time its clock shows: while a request,
an IPN callback or a clock advance works for such a merchant, `on_manual_clock` holds
that time and `now()` answers it, so every timestamp written (status history, ledger
entries, events) is clock time. Delays on a manual clock are the scenario's own seconds:
the clock moves only when told, so nothing needs scaling. The value lives in a context
variable: each request and each job runs in its own task, so it never leaks between them."""

from __future__ import annotations

from contextvars import ContextVar
from datetime import UTC, datetime, timedelta

from sandbox.core.timestamps import iso  # noqa: F401  # callers write clock.iso
from sandbox.settings import get_settings

_scale: float | None = None


class ManualClock:
    """The manual clock being followed: whose, and the time it shows."""

    __slots__ = ("merchant_id", "time")

    def __init__(self, merchant_id: str, time: datetime) -> None:
        self.merchant_id = merchant_id
        self.time = time


_manual: ContextVar[ManualClock | None] = ContextVar("manual_clock", default=None)


def now() -> datetime:
    clock = _manual.get()
    return clock.time if clock is not None else datetime.now(UTC)


def wall_now() -> datetime:
    """Real time, whatever clock the task follows: webhook deliveries run on real time even
    for a merchant on a manual clock (a test waits for them; the clock moves only payouts)."""
    return datetime.now(UTC)


def follow(clock: ManualClock | None) -> None:
    """From here on (in this task), time is `clock`'s; None: wall-clock time again."""
    _manual.set(clock)


def on_manual_clock() -> ManualClock | None:
    return _manual.get()


def time_scale() -> float:
    global _scale
    if _scale is None:
        _scale = get_settings().time_scale
    return _scale


def scale_now() -> float:
    """Real seconds per simulated second now: 1 on a manual clock (it moves only when told)."""
    return 1.0 if _manual.get() is not None else time_scale()


def scaled(seconds: float) -> timedelta:
    return timedelta(seconds=seconds * scale_now())
