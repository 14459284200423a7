from __future__ import annotations

from typing import Annotated

import msgspec


class RateLimitIn(msgspec.Struct, forbid_unknown_fields=True):
    """Requests per minute for each of the merchant's API keys."""

    requests_per_minute: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]


class RateLimitOut(msgspec.Struct):
    merchant_id: str
    # The merchant's own limit, or null when the default applies.
    requests_per_minute: int | None
    default: str
    # What applies now, e.g. "5 per 1 minute".
    effective: str
