from __future__ import annotations

from typing import Annotated

import msgspec

from sandbox.core.pagination import HasMore, NextCursor
from sandbox.core.types import said


class BalanceOut(msgspec.Struct):
    currency: Annotated[str, said("The balance's currency (PKR)")]
    available: Annotated[str, said("What new payouts can use")]
    locked: Annotated[str, said("Reserved for payouts in flight")]
    pending: Annotated[str, said("Incoming, not yet settled")]
    total: Annotated[str, said("The sum of the three buckets")]


class LedgerEntryOut(msgspec.Struct):
    seq: Annotated[int, said("The entry's place in the merchant's feed: no gaps, in commit order; pass the last "
                              "one you saw as `since_seq`")]
    transaction_id: Annotated[int, said("The ledger transaction it is a leg of (its legs sum to zero)")]
    bucket: Annotated[str, said("The balance bucket it moves")]
    amount: Annotated[str, said("How much, signed: negative takes from the bucket")]
    kind: Annotated[str, said("What moved the money")]
    payout_id: Annotated[str | None, said("The payout it is about; null for a top-up, a collection or a settlement")]
    created_at: Annotated[str, said("When it was written (RFC 3339, milliseconds)")]


class LedgerPage(msgspec.Struct):
    data: Annotated[list[LedgerEntryOut], said("This page's ledger entries")]
    has_more: HasMore
    next_cursor: NextCursor
