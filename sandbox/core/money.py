"""Amounts: decimal strings with at most two decimals on the wire, integer paisa inside."""

from __future__ import annotations

import re

CURRENCY = "PKR"
MINOR_PER_MAJOR = 100
# Just under 100 million rupees: far above any real single payout, far below BigInt
# limits. The pattern says the same, so the OpenAPI schema documents the whole rule.
MAX_AMOUNT_MINOR = 100_000_000 * MINOR_PER_MAJOR - 1

# The end of a pattern as Python must read it: msgspec checks patterns with re.search,
# where a bare `$` also matches before a final newline; the lookahead makes "1.00\n" fail.
# JavaScript's `$` (JSON Schema's dialect) already means the very end, so the published
# spec carries a bare `$` instead (sandbox/api/openapi_export.py).
PYTHON_END = r"$(?!\n)"
# Positive, at most 8 integer digits and 2 decimals, no sign, exponent or spaces.
AMOUNT_PATTERN = r"^(0\.(0[1-9]|[1-9][0-9]?)|[1-9][0-9]{0,7}(\.[0-9]{1,2})?)" + PYTHON_END
# The same, zero allowed (opening balances).
AMOUNT_OR_ZERO_PATTERN = r"^(0(\.[0-9]{1,2})?|[1-9][0-9]{0,7}(\.[0-9]{1,2})?)" + PYTHON_END
_AMOUNT_RE = re.compile(AMOUNT_OR_ZERO_PATTERN)


class AmountError(ValueError):
    pass


def parse_amount(text: str, *, allow_zero: bool = False) -> int:
    """'1500.5' → 150050. Refuses signs, exponents, spaces, more than two decimals."""
    if not isinstance(text, str) or not _AMOUNT_RE.fullmatch(text):
        raise AmountError("must be a decimal string like \"1500.00\" with at most two decimals")
    whole, _, frac = text.partition(".")
    minor = int(whole) * MINOR_PER_MAJOR + int((frac + "00")[:2])
    if minor == 0 and not allow_zero:
        raise AmountError("must be greater than 0")
    if minor > MAX_AMOUNT_MINOR:
        raise AmountError(f"must not exceed {format_amount(MAX_AMOUNT_MINOR)}")
    return minor


def format_amount(minor: int) -> str:
    """150050 → '1500.50'; -150050 → '-1500.50'."""
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(minor), MINOR_PER_MAJOR)
    return f"{sign}{whole}.{frac:02d}"
