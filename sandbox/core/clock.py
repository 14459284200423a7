"""Wall-clock time and simulated delays (`SANDBOX_TIME_SCALE` multiplies every delay)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sandbox.settings import get_settings

_scale: float | None = None


def now() -> datetime:
    return datetime.now(UTC)


def time_scale() -> float:
    global _scale
    if _scale is None:
        _scale = get_settings().time_scale
    return _scale


def scaled(seconds: float) -> timedelta:
    return timedelta(seconds=seconds * time_scale())


def iso(moment: datetime) -> str:
    """RFC 3339 with milliseconds and a Z, the format of every timestamp on the wire."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
