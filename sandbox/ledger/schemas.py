from __future__ import annotations

import msgspec


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
    data: list[LedgerEntryOut]
    has_more: bool
    next_cursor: str | None
