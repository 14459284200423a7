"""`ledger_post_many` (a batch chunk's postings in one balance update) writes what
`ledger_post` called once per posting, in order, writes: the same transactions, legs,
gapless seqs and balance; and when the sum is refused, nothing at all."""

import random

from sandbox import db
from sandbox.ledger.service import check_invariant, legs

_ENTRIES = ("SELECT t.kind, t.payout_id, e.bucket, e.amount, e.seq FROM ledger_transaction t"
            " JOIN ledger_entry e ON e.transaction = t.id WHERE t.merchant = $1 AND t.payout_id = ANY($2::varchar[])"
            " ORDER BY t.id, e.id")
_BALANCE = "SELECT available, locked, pending, last_seq FROM balance WHERE merchant = $1"


def _postings(kind: str, amounts: list[int]) -> tuple[list[str], list[str], list[list[int]]]:
    ids = [f"po_many_{random.getrandbits(48):x}" for _ in amounts]
    buckets = [b for b, _ in legs(kind, 1)]
    return ids, buckets, [[a for _, a in legs(kind, amount)] for amount in amounts]


async def _entries(merchant_id: str, ids: list[str]) -> list[tuple]:
    rows = await db.fetch(_ENTRIES, merchant_id, ids)
    return [(r["kind"], ids.index(r["payout_id"]), r["bucket"], r["amount"], r["seq"]) for r in rows]


async def test_the_same_rows_as_ledger_post_one_by_one(merchant, other_merchant, database):
    amounts = [random.randint(1, 50_000) for _ in range(40)]
    one, many = merchant.merchant_id, other_merchant.merchant_id
    assert await db.fetchrow(_BALANCE, one) == await db.fetchrow(_BALANCE, many)  # both freshly opened
    for kind in ("payout_created", "opening_balance"):  # without and with an `external` leg
        ids, buckets, rows = _postings(kind, amounts)
        async with db.transaction():
            for payout_id, row in zip(ids, rows, strict=True):
                await db.fetchval("SELECT transaction_id FROM ledger_post($1, $2, $3, now(), $4, $5)",
                                  one, kind, payout_id, buckets, row)
        async with db.transaction():
            posted = await db.fetch("SELECT payout_id FROM ledger_post_many($1, $2, now(), $3, $4, $5)",
                                    many, kind, ids, buckets, rows)
        assert [r["payout_id"] for r in posted] == ids
        assert await _entries(many, ids) == await _entries(one, ids)
        assert await db.fetchrow(_BALANCE, many) == await db.fetchrow(_BALANCE, one)
    assert await check_invariant(one) == [] and await check_invariant(many) == []


async def test_a_sum_beyond_the_funds_writes_nothing(merchant, database):
    before = await db.fetchrow(_BALANCE, merchant.merchant_id)
    ids, buckets, rows = _postings("payout_created", [1, before["available"]])  # the first alone would fit
    async with db.transaction():
        posted = await db.fetch("SELECT payout_id FROM ledger_post_many($1, 'payout_created', now(), $2, $3, $4)",
                                merchant.merchant_id, ids, buckets, rows)
    assert posted == []
    assert await db.fetchrow(_BALANCE, merchant.merchant_id) == before
    assert await _entries(merchant.merchant_id, ids) == []
