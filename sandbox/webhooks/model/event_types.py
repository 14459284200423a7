"""Event types and the patterns endpoints subscribe with: an exact type
(`payout.success`), a family (`payout.*`, `batch.*`) or everything (`*`)."""

from __future__ import annotations

from typing import Literal, TypeAlias

import msgspec

from sandbox.payouts.model.states import STATUSES

EVENT_TYPES: tuple[str, ...] = (
    "payout.created", *(f"payout.{status}" for status in STATUSES),
    "batch.completed",  # every item of a payout batch has its outcome (sandbox/batches)
    "settlement.completed",  # a settlement run moved collections to available (sandbox/settlements)
)
EventType: TypeAlias = Literal[EVENT_TYPES]  # type: ignore[valid-type]
SEQUENCE_WORDS = (
    "The event's place among its payout's events: `payout.created` is 1, then 2, 3, … with no gaps, in the "
    "order the payout moved. Webhooks arrive in any order: the event with the highest `sequence` is the payout's "
    "newest status. 1 for `batch.*` and `settlement.*` events (their object's only event)")
"""`sequence` in words, for GET /events and the webhook bodies' schemas alike."""
TIMESTAMP_WORDS = ("When the event happened (RFC 3339, milliseconds), on the merchant's clock (a manual clock's "
                   "time for a merchant on one; a delivery's `webhook-timestamp` header is the real time of its "
                   "attempt). Successive events of one payout are at least 1 ms apart, even where simulated time "
                   "stands still, but for one payout made in review: its `payout.created` and `payout.in_review` "
                   "share its moment of creation")
"""An event's time in words (`created_at` on GET /events, `timestamp` in a webhook body)."""
EVENT_ID_WORDS = "The event's id (`evt_…`), also sent as the `webhook-id` header; stable across retries and resends"
TYPE_WORDS = ("What happened, which says what `data` is: the payout for `payout.*`, the payout batch for "
              "`batch.completed`, the settlement run for `settlement.completed`")
"""An event's `id` and `type` in words, for GET /events and the webhook bodies' schemas alike."""

# What an endpoint may subscribe to: everything, a family, or one type.
PATTERNS: tuple[str, ...] = ("*", *dict.fromkeys(t.split(".")[0] + ".*" for t in EVENT_TYPES), *EVENT_TYPES)

_decode = msgspec.json.Decoder(list[str])


def decode_patterns(stored: str | bytes) -> list[str]:
    return _decode.decode(stored)


def matches(pattern: str, event_type: str) -> bool:
    if pattern == "*":
        return True
    if pattern.endswith(".*"):
        return event_type.startswith(pattern[:-1])
    return pattern == event_type


def matches_any(patterns: list[str], event_type: str) -> bool:
    return any(matches(p, event_type) for p in patterns)


def like(pattern: str) -> str:
    """The SQL LIKE form of a pattern, for filtering stored events."""
    if pattern == "*":
        return "%"
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped[:-1] + "%" if pattern.endswith(".*") else escaped
