from __future__ import annotations

from typing import Literal

import msgspec

from sandbox.core.types import Amount, AmountOrZero, Name


class TopupIn(msgspec.Struct, forbid_unknown_fields=True):
    amount: Amount


class TopupOut(msgspec.Struct):
    transaction_id: int
    amount: str
    available: str
    locked: str
    pending: str


class MerchantIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    opening_balance: AmountOrZero = "0.00"
    # "manual": a test clock that moves only on POST /sandbox/clock/advance.
    clock: Literal["live", "manual"] = "live"


class MerchantOut(msgspec.Struct):
    id: str
    name: str
    clock: Literal["live", "manual"]


class NewMerchantOut(msgspec.Struct):
    merchant: MerchantOut
    api_key: str
