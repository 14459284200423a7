from __future__ import annotations

from typing import Annotated

import msgspec

from sandbox.core.types import said


class Total(msgspec.Struct):
    """How many ledger movements (or payouts), and their sum."""

    count: Annotated[int, said("How many")]
    amount: Annotated[str, said("Their sum, a decimal string in the currency's units, never negative")]


class SummaryTotals(msgspec.Struct):
    """Over the merchant's life. `opening_balance`: what the merchant was opened with (at
    most one); `topped_up`: top-ups after that; `collected`: collections that came in (to
    `pending`); `settled`: collections a settlement run moved to `available`; `declined`:
    collections a settlement run dropped; `paid_out`: payouts that succeeded (a later return
    is also counted in `returned`); `released`: funds back after a failed, rejected or
    cancelled payout; `returned`: funds back after a returned payout; `in_flight`: payouts
    holding locked funds now."""

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
    currency: Annotated[str, said("The currency (PKR)")]
    available: Annotated[str, said("What can be paid out now, a decimal string")]
    locked: Annotated[str, said("What payouts in flight hold, a decimal string")]
    pending: Annotated[str, said("Collections not settled yet, a decimal string")]
    total: Annotated[str, said("`available` + `locked` + `pending`")]
    totals: SummaryTotals
    computed_at: Annotated[str, said("When these figures were read from the database (RFC 3339, milliseconds), on "
                                     "the merchant's clock: they may come from the cache")]
