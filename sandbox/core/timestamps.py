"""RFC 3339 timestamps: written on the wire (`iso`), parsed from query strings."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sandbox.core.errors import ValidationFailed
from sandbox.core.types import RFC3339

_RE = re.compile(RFC3339)


def iso(moment: datetime) -> str:
    """RFC 3339 with milliseconds and a Z, the format of every timestamp on the wire."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


RESOLUTION = timedelta(milliseconds=1)
"""The smallest step between two timestamps on the wire (`iso` shows milliseconds)."""


def later_than(shown: str, at: datetime) -> datetime:
    """`at`, or the first moment the wire shows later than `shown` (a timestamp as `iso`
    wrote it) if `at` would not: what comes after something is shown after it, even where
    the clock stands still (time scale 0, a manual clock) or the two fall in one millisecond."""
    return max(at, datetime.fromisoformat(shown) + RESOLUTION)


def parse_timestamp(field: str, value: str | None) -> datetime | None:
    if value is None:
        return None
    if not _RE.search(value):
        raise ValidationFailed.field(field, "must be an RFC 3339 date-time like 2026-11-22T10:00:00Z")
    text = value.replace("t", "T").replace(" ", "T")
    text = re.sub(r"[Zz]$", "+00:00", text)
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)  # Python keeps microseconds
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise ValidationFailed.field(field, "is not a real date and time") from None
