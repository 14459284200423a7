from __future__ import annotations

from typing import Annotated

import msgspec

from sandbox.core.pagination import HasMore, NextCursor
from sandbox.core.types import said
from sandbox.payouts.model.schemas import Payout


class AdminPayout(Payout):
    merchant_id: Annotated[str, said("The merchant whose payout it is (`mch_…`)")]


class AdminPayoutPage(msgspec.Struct):
    data: Annotated[list[AdminPayout], msgspec.Meta(description="This page's payouts, of every merchant, newest first")]
    has_more: HasMore
    next_cursor: NextCursor


class ReviewTotals(msgspec.Struct):
    """How many payouts, and their sum."""

    count: Annotated[int, said("How many payouts")]
    amount: Annotated[str, said("Their sum, a decimal string in the currency's units")]


class MerchantRequests(msgspec.Struct):
    """A merchant with payouts in flight: `requested` counts those waiting for review
    (`in_review`), `on_hold` those on hold, `in_flight` every payout not yet final
    (`in_review`, `pending`, `processing`, `retrying`, `on_hold`), so it includes the other two."""

    merchant_id: Annotated[str, said("The merchant's id (`mch_…`)")]
    merchant_name: Annotated[str, said("The merchant's name")]
    requested: ReviewTotals  # described by its own schema and this Struct's docstring
    in_flight: ReviewTotals
    on_hold: ReviewTotals
    available: Annotated[str, said("Its `available` balance now, a decimal string")]
    locked: Annotated[str, said("Its `locked` balance now (held for payouts in flight), a decimal string")]


class PayoutRequests(msgspec.Struct):
    data: Annotated[list[MerchantRequests], said(
        "Every merchant with a payout in flight, the largest sum waiting for review first, then the largest sum "
        "in flight")]
