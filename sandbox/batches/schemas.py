from __future__ import annotations

from typing import Annotated, Literal, TypeAlias

import msgspec

from sandbox.core.pagination import HasMore, NextCursor
from sandbox.core.types import said
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
    """A payout batch: payouts uploaded together, as a CSV file or a JSON body."""

    id: Annotated[str, said("The batch's id")]
    object: Annotated[Literal["payout_batch"], said("The object's kind")]
    status: Annotated[BatchStatus, said("`processing`, then `completed` (every item has a payout) or "
                                        "`completed_with_errors` (some have a reason why not)")]
    source: Annotated[BatchSource, said("How it was uploaded: a CSV file or a JSON body")]
    filename: Annotated[str | None, said("The CSV file's name; null for JSON")]
    total_items: Annotated[int, said("How many items it has")]
    counts: Annotated[dict[str, int], said("Items per status: `queued`, `invalid`, `refused`, then each payout "
                                           "status, kept current")]
    created_at: Annotated[str, said("When it was uploaded (RFC 3339, milliseconds)")]
    updated_at: Annotated[str, said("When it last changed (RFC 3339, milliseconds)")]
    completed_at: Annotated[str | None, said("When every item had its outcome; null while processing")]


class PayoutBatchItem(msgspec.Struct):
    line: Annotated[int, said("Its line in the file, or its position in `items`, from 1")]
    status: Annotated[ItemStatus, said("`queued`, `invalid` or `refused` until a payout exists; then the payout's "
                                       "status")]
    reason: Annotated[str | None, said("Why it is invalid or refused")]
    reference: Annotated[str | None, said("Its reference, as given")]
    amount: Annotated[str | None, said("Its amount, as given")]
    payout_id: Annotated[str | None, said("The payout made from it; null until one exists")]
    retry: Annotated[RetryState | None, said("Its failed payout's retry: requested, done, refused or skipped; "
                                             "null: never retried")]
    retry_reason: Annotated[str | None, said("Why the retry was refused or skipped")]


class PayoutBatchItemPage(msgspec.Struct):
    data: Annotated[list[PayoutBatchItem], msgspec.Meta(description="This page's batch items, in file order")]
    has_more: HasMore
    next_cursor: NextCursor


class BatchRetryAccepted(msgspec.Struct):
    batch_id: Annotated[str, said("The batch")]
    requested: Annotated[int, said("How many failed items were newly asked to re-initiate (each item at most "
                                   "once, ever); the worker re-initiates them, their `retry` shows how it went")]
