from __future__ import annotations

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


class MerchantOut(msgspec.Struct):
    id: str
    name: str


class NewMerchantOut(msgspec.Struct):
    merchant: MerchantOut
    api_key: str
