from __future__ import annotations

import msgspec


class Total(msgspec.Struct):
    count: int
    amount: str


class SummaryTotals(msgspec.Struct):
    """Over the merchant's life. `opening_balance`: what the merchant was opened with (at
    most one); `topped_up`: top-ups after that; `paid_out`: payouts that succeeded (a later return is also
    counted in `returned`); `released`: funds back after a failed, rejected or cancelled
    payout; `in_flight`: payouts holding locked funds now."""

    opening_balance: Total
    topped_up: Total
    collected: Total
    settled: Total
    declined: Total
    paid_out: Total
    released: Total
    returned: Total
    in_flight: Total


class BalanceSummary(msgspec.Struct):
    currency: str
    available: str
    locked: str
    pending: str
    total: str
    totals: SummaryTotals
    # When these figures were read from the database (they may come from the cache).
    computed_at: str
