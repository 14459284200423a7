"""What the CI commands check in their arguments before sending anything: deadlines,
seconds, keys. Standard library only: `sandbox --help` and `sandbox up` build the
commands' parsers, and neither the test helpers (sandbox/testing) nor the HTTP client is theirs to load."""

from __future__ import annotations

import math

DEFAULT_TIMEOUT_S = 60.0
MAX_TIMEOUT_S = 24 * 3600.0


def header_safe(value: str) -> bool:
    """Whether `value` can be sent as a header's value: printable ASCII (an API key)."""
    return bool(value) and value.isascii() and value.isprintable()


def finite_seconds(text: str, most: float) -> float:
    """A number of seconds from 0 to `most`; ValueError saying why otherwise."""
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or not 0 <= value <= most:
        raise ValueError(f"{text!r} is not a number of seconds from 0 to {most:g}")
    return value
