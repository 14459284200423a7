"""Constrained string types shared by request schemas (documented in OpenAPI as-is)."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from sandbox.core.money import AMOUNT_OR_ZERO_PATTERN, AMOUNT_PATTERN


def whole(body: str) -> str:
    """A pattern the entire string must match. msgspec checks patterns with re.search,
    where a bare `$` also matches before a final newline; `$(?!\n)` means the same in
    Python and in JSON Schema (ECMA), so "abc\n" is refused like the spec says."""
    return f"^(?:{body})$(?!\n)"


# No control characters (NUL, escapes): PostgreSQL refuses NUL and logs must stay clean.
_PRINTABLE = whole(r"[^\x00-\x1f\x7f]*")

Amount = Annotated[str, Meta(pattern=AMOUNT_PATTERN, examples=["1500.00"],
                             description="Decimal string in PKR, at most two decimals, > 0")]
AmountOrZero = Annotated[str, Meta(pattern=AMOUNT_OR_ZERO_PATTERN, examples=["500000.00"])]
Currency = Annotated[str, Meta(pattern=whole("PKR"), examples=["PKR"], description="ISO 4217; only PKR")]
Title = Annotated[str, Meta(min_length=1, max_length=100, pattern=_PRINTABLE)]
Name = Annotated[str, Meta(min_length=1, max_length=200, pattern=_PRINTABLE)]
Description = Annotated[str, Meta(max_length=500, pattern=_PRINTABLE)]
Reason = Annotated[str, Meta(max_length=500, pattern=_PRINTABLE)]
Reference = Annotated[str, Meta(min_length=1, max_length=64, pattern=whole(r"[A-Za-z0-9._:/#-]+"),
                                description="Your own id, unique per merchant")]
Code = Annotated[str, Meta(min_length=1, max_length=16, pattern=whole("[A-Z0-9_]+"))]
Digits = Annotated[str, Meta(min_length=1, max_length=34, pattern=whole("[0-9]+"))]
Iban = Annotated[str, Meta(min_length=1, max_length=34, pattern=whole("[A-Za-z0-9 ]+"))]
MetaKey = Annotated[str, Meta(min_length=1, max_length=40, pattern=whole(r"[A-Za-z0-9_.:-]+"))]
MetaValue = Annotated[str, Meta(max_length=500, pattern=_PRINTABLE)]
Metadata = Annotated[dict[MetaKey, MetaValue], Meta(max_length=20,
                     description="Up to 20 string pairs, returned as sent")]

# RFC 3339 date-time, as query values. Declared as strings and parsed by `parse_timestamp`:
# a `datetime` query parameter would also take a bare number as Unix seconds.
RFC3339 = whole(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})")

# A failure code as the rail and the simulate route send it (`account_closed`).
FailureCode = Annotated[str, Meta(min_length=1, max_length=40, pattern=whole("[a-z0-9_]+"))]
