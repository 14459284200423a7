from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from sandbox.core.pagination import HasMore, NextCursor
from sandbox.core.types import Amount, Description, Reference


class CollectionIn(msgspec.Struct, forbid_unknown_fields=True):
    """Incoming funds: credited to `pending` now; the next settlement run after the
    settlement interval moves an approved one to `available` and drops a declined one."""

    amount: Amount
    outcome: Literal["approve", "decline"] = "approve"
    reference: Reference | None = None
    description: Description | None = None


class Collection(msgspec.Struct):
    id: str
    object: Literal["collection"]
    amount: str
    currency: str
    outcome: Literal["approve", "decline"]
    status: Literal["pending", "settled", "declined"]
    reference: str | None
    description: str | None
    settlement_id: str | None
    created_at: str
    settled_at: str | None


class Settlement(msgspec.Struct):
    id: str
    object: Literal["settlement"]
    currency: str
    settled_count: int
    settled_amount: str
    declined_count: int
    declined_amount: str
    # What the run did to the balance buckets (the report's totals).
    available_change: str
    pending_change: str
    created_at: str


class SettlementPage(msgspec.Struct):
    data: Annotated[list[Settlement], msgspec.Meta(description="This page's settlement runs, newest first")]
    has_more: HasMore
    next_cursor: NextCursor
