from __future__ import annotations

from typing import Annotated

import msgspec

from sandbox.core.pagination import HasMore, NextCursor


class BalanceOut(msgspec.Struct):
    currency: str
    available: str
    locked: str
    pending: str
    total: str


class LedgerEntryOut(msgspec.Struct):
    seq: int
    transaction_id: int
    bucket: str
    amount: str
    kind: str
    payout_id: str | None
    created_at: str


class LedgerPage(msgspec.Struct):
    data: Annotated[list[LedgerEntryOut], msgspec.Meta(description="This page's ledger entries")]
    has_more: HasMore
    next_cursor: NextCursor
