from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from sandbox.core.types import Amount, AmountOrZero, Name, said


class TopupIn(msgspec.Struct, forbid_unknown_fields=True):
    amount: Amount


class TopupOut(msgspec.Struct):
    transaction_id: Annotated[int, said("The ledger transaction the top-up made (its entries in GET /balance/history)")]
    amount: Annotated[str, said("How much was added to `available`, a decimal string")]
    available: Annotated[str, said("The `available` balance after it, a decimal string")]
    locked: Annotated[str, said("The `locked` balance after it, a decimal string")]
    pending: Annotated[str, said("The `pending` balance after it, a decimal string")]


Clock = Literal["live", "manual"]
CLOCK_WORDS = ("`manual`: a test clock, which moves only on POST /sandbox/clock/advance (its payouts wait "
               "until then); `live`: real time")


class MerchantIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[Name, msgspec.Meta(description="The merchant's name")]
    opening_balance: Annotated[AmountOrZero, msgspec.Meta(description="Its available balance to start with")] = "0.00"
    clock: Annotated[Clock, msgspec.Meta(description=CLOCK_WORDS)] = "live"
    keep: Annotated[bool, msgspec.Meta(
        description="Spared by retention however long it stays idle (PUT /admin/merchants/{id}/keep changes "
                    "it)")] = False


class MerchantOut(msgspec.Struct):
    """A merchant of the sandbox."""

    id: Annotated[str, msgspec.Meta(description="The merchant's id (`mch_…`)")]
    name: Annotated[str, msgspec.Meta(description="The merchant's name")]
    clock: Annotated[Clock, msgspec.Meta(description=CLOCK_WORDS)]


class NewMerchantOut(msgspec.Struct):
    merchant: MerchantOut  # described by its own schema (a field's words would replace them there)
    api_key: Annotated[str, msgspec.Meta(description="Its API key, for `X-API-KEY`")]
