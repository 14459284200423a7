"""Each ledger kind's legs: they sum to zero and move the buckets as the money table says."""

from __future__ import annotations

import pytest

from sandbox.ledger import service as ledger

AMOUNT = 12_345


@pytest.mark.parametrize("kind", sorted(ledger.KINDS))
def test_legs_sum_to_zero_and_follow_the_table(kind):
    legs = ledger.legs(kind, AMOUNT)
    assert sum(amount for _, amount in legs) == 0
    merchant = [(b, a) for b, a in legs if b != "external"]
    assert dict(merchant) == {b: f * AMOUNT for b, f in ledger.KINDS[kind].items()}
    # The world outside (`external`) appears only when the merchant's own buckets do not
    # balance, and always last, so the merchant's legs get consecutive seqs.
    assert [b for b, _ in legs[len(merchant):]] == (["external"] if sum(a for _, a in merchant) else [])


@pytest.mark.parametrize(("kind", "moves"), [
    ("payout_created", {"available": -1, "locked": +1}),
    ("payout_succeeded", {"locked": -1}),
    ("payout_released", {"available": +1, "locked": -1}),
    ("payout_returned", {"available": +1}),
    ("topup", {"available": +1}),
    ("collection_settled", {"available": +1, "pending": -1}),
])
def test_the_money_table(kind, moves):
    assert ledger.KINDS[kind] == moves


def test_a_posting_carries_the_legs_in_the_order_ledger_post_takes_them():
    posting = ledger.posting("mch_1", "payout_released", AMOUNT, "po_1", at=None)
    assert posting.args() == ("mch_1", "payout_released", "po_1", None, ["available", "locked"], [AMOUNT, -AMOUNT])


@pytest.mark.parametrize("amount", [0, -1])
def test_a_posting_needs_a_positive_amount(amount):
    with pytest.raises(ValueError):
        ledger.posting("mch_1", "topup", amount, None, at=None)
