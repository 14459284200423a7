from __future__ import annotations

from typing import Annotated

import msgspec

from sandbox.core.pagination import HasMore, NextCursor
from sandbox.payouts.model.schemas import Payout


class AdminPayout(Payout):
    merchant_id: str


class AdminPayoutPage(msgspec.Struct):
    data: Annotated[list[AdminPayout], msgspec.Meta(description="This page's payouts, of every merchant, newest first")]
    has_more: HasMore
    next_cursor: NextCursor


class ReviewTotals(msgspec.Struct):
    count: int
    amount: str


class MerchantRequests(msgspec.Struct):
    merchant_id: str
    merchant_name: str
    requested: ReviewTotals  # waiting for review (in_review)
    in_flight: ReviewTotals  # pending, processing, retrying, on_hold
    on_hold: ReviewTotals
    available: str
    locked: str


class PayoutRequests(msgspec.Struct):
    data: list[MerchantRequests]
