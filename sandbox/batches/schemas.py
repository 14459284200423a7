from __future__ import annotations

from typing import Annotated, Literal, TypeAlias

import msgspec

from sandbox.core.pagination import HasMore, NextCursor
from sandbox.payouts.model.states import STATUSES

# processing → completed | completed_with_errors (every item has a payout, or a reason why not)
BatchStatus = Literal["processing", "completed", "completed_with_errors"]
BatchSource = Literal["csv", "json"]
# An item is `queued`, `invalid` or `refused` until a payout exists; then it has the payout's status.
ITEM_STATUSES = ("queued", "invalid", "refused")
ItemStatus: TypeAlias = Literal[(*ITEM_STATUSES, *STATUSES)]  # type: ignore[valid-type]
# Retry of a failed payout: requested, done, refused or skipped.
RetryState = Literal["requested", "done", "refused", "skipped"]
MAX_ITEMS = 100_000


class BatchJsonIn(msgspec.Struct, forbid_unknown_fields=True):
    """`items`: objects shaped like the body of POST /payouts. Each is checked on its own;
    one that fails becomes an `invalid` item (its `line` is its position, from 1)."""

    items: list[msgspec.Raw]


class PayoutBatch(msgspec.Struct):
    id: str
    object: Literal["payout_batch"]
    status: BatchStatus
    source: BatchSource
    filename: str | None
    total_items: int
    # Items per status: `queued`, `invalid`, `refused`, then each payout status, kept current.
    counts: dict[str, int]
    created_at: str
    updated_at: str
    completed_at: str | None


class PayoutBatchItem(msgspec.Struct):
    line: int
    status: ItemStatus
    reason: str | None
    reference: str | None
    amount: str | None
    payout_id: str | None
    retry: RetryState | None  # null: never retried
    retry_reason: str | None


class PayoutBatchItemPage(msgspec.Struct):
    data: Annotated[list[PayoutBatchItem], msgspec.Meta(description="This page's batch items, in file order")]
    has_more: HasMore
    next_cursor: NextCursor


class BatchRetryAccepted(msgspec.Struct):
    batch_id: str
    # Failed items newly asked to re-initiate (each item at most once, ever).
    requested: int
