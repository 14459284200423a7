from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from sandbox.core.pagination import HasMore, NextCursor
from sandbox.core.types import Amount, Description, Reference, said


class CollectionIn(msgspec.Struct, forbid_unknown_fields=True):
    """Incoming funds: credited to `pending` now; the next settlement run after the
    settlement interval moves an approved one to `available` and drops a declined one."""

    amount: Annotated[Amount, said("How much comes in")]
    outcome: Annotated[Literal["approve", "decline"], said(
        "What the next settlement run does with it: `approve` moves it to `available`, `decline` drops it")] = "approve"
    reference: Annotated[Reference, said("Your reference")] | None = None
    description: Annotated[Description, said("Your words for it")] | None = None


class Collection(msgspec.Struct):
    id: Annotated[str, said("The collection's id")]
    object: Annotated[Literal["collection"], said("The object's kind")]
    amount: Annotated[str, said("How much came in")]
    currency: Annotated[str, said("The currency (PKR)")]
    outcome: Annotated[Literal["approve", "decline"], said("What its settlement run does with it")]
    status: Annotated[Literal["pending", "settled", "declined"], said(
        "`pending` until a settlement run; then `settled` (in `available`) or `declined` (dropped)")]
    reference: Annotated[str | None, said("Your reference, as sent")]
    description: Annotated[str | None, said("Your words for it, as sent")]
    settlement_id: Annotated[str | None, said("The settlement run that took it; null while pending")]
    created_at: Annotated[str, said("When it came in (RFC 3339, milliseconds)")]
    settled_at: Annotated[str | None, said("When its settlement run took it; null while pending")]


class Settlement(msgspec.Struct):
    """A settlement run: it moved approved collections from `pending` to `available` and dropped declined ones."""

    id: Annotated[str, said("The settlement run's id")]
    object: Annotated[Literal["settlement"], said("The object's kind")]
    currency: Annotated[str, said("The currency (PKR)")]
    settled_count: Annotated[int, said("How many approved collections it moved to `available`")]
    settled_amount: Annotated[str, said("Their sum")]
    declined_count: Annotated[int, said("How many declined collections it dropped")]
    declined_amount: Annotated[str, said("Their sum")]
    # What the run did to the balance buckets (the report's totals).
    available_change: Annotated[str, said("What the run added to `available`")]
    pending_change: Annotated[str, said("What the run took from `pending` (negative)")]
    created_at: Annotated[str, said("When the run happened (RFC 3339, milliseconds)")]


class SettlementPage(msgspec.Struct):
    data: Annotated[list[Settlement], said("This page's settlement runs, newest first")]
    has_more: HasMore
    next_cursor: NextCursor
