from __future__ import annotations

import msgspec

from sandbox.payouts.schemas import Payout


class AdminPayout(Payout):
    merchant_id: str


class AdminPayoutPage(msgspec.Struct):
    data: list[AdminPayout]
    has_more: bool
    next_cursor: str | None


class Totals(msgspec.Struct):
    count: int
    amount: str


class MerchantRequests(msgspec.Struct):
    merchant_id: str
    merchant_name: str
    requested: Totals  # waiting for review (in_review)
    in_flight: Totals  # pending, processing, retrying, on_hold
    on_hold: Totals
    available: str
    locked: str


class PayoutRequests(msgspec.Struct):
    data: list[MerchantRequests]
