"""Constrained string types shared by request schemas (documented in OpenAPI as-is)."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from sandbox.core.money import AMOUNT_OR_ZERO_PATTERN, AMOUNT_PATTERN

# No control characters (NUL, escapes): PostgreSQL refuses NUL and logs must stay clean.
_PRINTABLE = r"^[^\x00-\x1f\x7f]*$"

Amount = Annotated[str, Meta(pattern=AMOUNT_PATTERN, examples=["1500.00"],
                             description="Decimal string in PKR, at most two decimals, > 0")]
AmountOrZero = Annotated[str, Meta(pattern=AMOUNT_OR_ZERO_PATTERN, examples=["500000.00"])]
Currency = Annotated[str, Meta(pattern=r"^PKR$", examples=["PKR"], description="ISO 4217; only PKR")]
Title = Annotated[str, Meta(min_length=1, max_length=100, pattern=_PRINTABLE)]
Name = Annotated[str, Meta(min_length=1, max_length=200, pattern=_PRINTABLE)]
Description = Annotated[str, Meta(max_length=500, pattern=_PRINTABLE)]
Reason = Annotated[str, Meta(max_length=500, pattern=_PRINTABLE)]
Reference = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:/#-]+$",
                                description="Your own id, unique per merchant")]
Code = Annotated[str, Meta(min_length=1, max_length=16, pattern=r"^[A-Z0-9_]+$")]
Digits = Annotated[str, Meta(min_length=1, max_length=34, pattern=r"^[0-9]+$")]
Iban = Annotated[str, Meta(min_length=1, max_length=34, pattern=r"^[A-Za-z0-9 ]+$")]
MetaKey = Annotated[str, Meta(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.:-]+$")]
MetaValue = Annotated[str, Meta(max_length=500, pattern=_PRINTABLE)]
Metadata = Annotated[dict[MetaKey, MetaValue], Meta(max_length=20,
                     description="Up to 20 string pairs, returned as sent")]
