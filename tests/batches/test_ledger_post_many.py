"""`ledger_post_many` (a batch chunk's postings, a claimed group's steps, in one balance
update) writes what `ledger_post` called once per posting, in order, writes: the same
transactions, legs, gapless seqs and balance, for postings of one kind or of many; and
when any posting would be refused, nothing at all."""

import random
import secrets

from sandbox import db
from sandbox.core.clock import now
from sandbox.ledger.service import check_invariant, many_args, posting

_ENTRIES = ("SELECT t.kind, t.payout_id, e.bucket, e.amount, e.seq FROM ledger_transaction t"
            " JOIN ledger_entry e ON e.transaction = t.id WHERE t.merchant = $1 AND t.payout_id = ANY($2::varchar[])"
            " ORDER BY t.id, e.id")
_BALANCE = "SELECT available, locked, pending, last_seq FROM balance WHERE merchant = $1"
_MANY = "SELECT payout_id FROM ledger_post_many($1, now(), $2, $3, $4, $5)"


async def _entries(merchant_id: str, ids: list[str]) -> list[tuple]:
    rows = await db.fetch(_ENTRIES, merchant_id, ids)
    return [(r["kind"], ids.index(r["payout_id"]), r["bucket"], r["amount"], r["seq"]) for r in rows]


def _postings(merchant_id: str, kinds: list[str]) -> list:
    return [posting(merchant_id, kind, random.randint(1, 50_000), f"po_many_{secrets.token_hex(6)}", now())
            for kind in kinds]


async def _post_many(merchant_id: str, postings: list) -> list[str]:
    kinds, ids, buckets, amounts = many_args(postings)
    async with db.transaction():
        return [r["payout_id"] for r in await db.fetch(_MANY, merchant_id, kinds, ids, buckets, amounts)]


async def test_the_same_rows_as_ledger_post_one_by_one(merchant, other_merchant, database):
    one, many = merchant.merchant_id, other_merchant.merchant_id
    assert await db.fetchrow(_BALANCE, one) == await db.fetchrow(_BALANCE, many)  # both freshly opened
    # One kind without and with an `external` leg (a batch chunk's), then kinds mixed as a
    # claimed group's steps mix them (a payout paid out after another released, ...).
    mixed = ["payout_created"] * 10 + ["payout_succeeded", "payout_released", "payout_returned", "topup"] * 10
    for kinds in (["payout_created"] * 40, ["opening_balance"] * 40, mixed):
        postings = _postings(many, kinds)
        ids = [p.payout_id for p in postings]
        async with db.transaction():
            for p in postings:
                await db.fetchval("SELECT transaction_id FROM ledger_post($1, $2, $3, now(), $4, $5)",
                                  one, p.kind, p.payout_id, p.buckets, p.amounts)
        assert await _post_many(many, postings) == ids
        assert await _entries(many, ids) == await _entries(one, ids)
        assert await db.fetchrow(_BALANCE, many) == await db.fetchrow(_BALANCE, one)
    assert await check_invariant(one) == [] and await check_invariant(many) == []


async def test_a_sum_beyond_the_funds_writes_nothing(merchant, database):
    before = await db.fetchrow(_BALANCE, merchant.merchant_id)
    postings = [posting(merchant.merchant_id, "payout_created", amount, f"po_many_{i}", now())
                for i, amount in enumerate([1, before["available"]])]  # the first alone would fit
    assert await _post_many(merchant.merchant_id, postings) == []
    assert await db.fetchrow(_BALANCE, merchant.merchant_id) == before
    assert await _entries(merchant.merchant_id, [p.payout_id for p in postings]) == []


async def test_a_bucket_negative_along_the_way_writes_nothing(merchant, database):
    """The sum would fit (a later posting brings the funds back), but posting them one by
    one, the first would have been refused: so is the whole call."""
    before = await db.fetchrow(_BALANCE, merchant.merchant_id)
    postings = [posting(merchant.merchant_id, "payout_created", before["available"] + 5, "po_many_a", now()),
                posting(merchant.merchant_id, "topup", 10, "po_many_b", now())]
    assert await _post_many(merchant.merchant_id, postings) == []
    assert await db.fetchrow(_BALANCE, merchant.merchant_id) == before

