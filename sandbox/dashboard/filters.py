"""Jinja filters: amounts with thousands separators, timestamps in UTC, a tone per status,
a scenario step's delay, readable reasons."""

from __future__ import annotations

from datetime import UTC, datetime

from sandbox.dashboard.forms import readable

TONES = {
    "success": "ok", "failed": "bad", "rejected": "bad", "returned": "bad", "cancelled": "muted",
    "in_review": "warn", "on_hold": "warn", "invalid": "bad", "refused": "bad",
    "completed": "ok", "completed_with_errors": "warn",  # a batch's status
}


def money(value: int | str | None) -> str:
    """Minor units (int) or a wire amount ("-1500.00") → "-1,500.00"."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        # Not parse_amount: sums and balances may exceed what one payout may be.
        negative = value.startswith("-")
        whole, _, frac = value.lstrip("-").partition(".")
        minor = int(whole) * 100 + int((frac + "00")[:2])
        value = -minor if negative else minor
    whole, frac = divmod(abs(value), 100)
    return f"{'-' if value < 0 else ''}{whole:,}.{frac:02d}"


def when(value: str | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    return value[:19].replace("T", " ")


def tone(status: str) -> str:
    return TONES.get(status, "info")


# A step's delay in the largest unit that divides it: 172800 → "2 d", 90 → "90 s".
_UNITS = (("d", 86_400), ("h", 3_600), ("min", 60))


def seconds(value: float) -> str:
    for unit, size in _UNITS:
        if value >= size and value % size == 0:
            return f"{value / size:.15g} {unit}"
    return f"{value:.15g} s"


def install(engine) -> None:
    engine.engine.filters.update(money=money, when=when, tone=tone, seconds=seconds, readable=readable)
