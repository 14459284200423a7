from __future__ import annotations

from typing import Annotated

import msgspec


class RateLimitIn(msgspec.Struct, forbid_unknown_fields=True):
    """Requests per minute for each of the merchant's API keys."""

    requests_per_minute: Annotated[int, msgspec.Meta(
        ge=1, le=1_000_000, description="The merchant's own limit: requests per minute for each of its API keys")]


class RateLimitOut(msgspec.Struct):
    merchant_id: Annotated[str, msgspec.Meta(description="The merchant (`mch_…`)")]
    requests_per_minute: Annotated[int | None, msgspec.Meta(
        description="The merchant's own limit, requests per minute for each API key; null when the default "
                    "applies")]
    default: Annotated[str, msgspec.Meta(
        description="The sandbox's default limit (SANDBOX_RATE_LIMIT, e.g. `1000/second`)")]
    effective: Annotated[str, msgspec.Meta(description="What applies now, e.g. `5 per 1 minute`")]
    team_ceiling_per_minute: Annotated[int, msgspec.Meta(
        description="The most a team key may set as `requests_per_minute` (SANDBOX_RATE_LIMIT_CEILING, by default "
                    "the sandbox's default limit); past it, 422 `above_ceiling`. The operator's key is not bound "
                    "by it")]
