"""`ledger_post(...)` in the database: it moves the merchant's buckets as each kind's legs
say, numbers the merchant's entries with the next seqs, refuses a posting that would take
a bucket below zero (writing nothing), and the database still refuses unbalanced legs."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import pytest

from sandbox import db
from sandbox.ledger import service as ledger

AMOUNT = 2_500
CALL = "SELECT transaction_id, available, locked, pending FROM ledger_post($1, $2, $3, $4, $5, $6)"


async def _balance(merchant_id: str) -> dict:
    return dict(await db.fetchrow("SELECT available, locked, pending, last_seq FROM balance WHERE merchant = $1",
                                  merchant_id))


async def _post(merchant_id: str, kind: str):
    return await db.fetchrow(CALL, *ledger.posting(merchant_id, kind, AMOUNT, None, datetime.now(UTC)).args())


@pytest.mark.parametrize("kind", sorted(ledger.KINDS))
async def test_each_kind_moves_the_buckets_and_writes_its_legs(merchant, database, kind):
    merchant_id = merchant.merchant_id
    # Enough in every bucket for any kind to take from it.
    for setup in ("topup", "payout_created", "collection_created"):
        await _post(merchant_id, setup)
    before = await _balance(merchant_id)

    row = await _post(merchant_id, kind)

    after = await _balance(merchant_id)
    moves = ledger.KINDS[kind]
    for bucket in ledger.MERCHANT_BUCKETS:
        assert after[bucket] - before[bucket] == moves.get(bucket, 0) * AMOUNT, bucket
        assert row[bucket] == after[bucket]
    entries = await db.fetch("SELECT bucket, amount, seq FROM ledger_entry WHERE transaction = $1 ORDER BY id",
                             row["transaction_id"])
    assert [(e["bucket"], e["amount"]) for e in entries] == ledger.legs(kind, AMOUNT)
    assert [e["seq"] for e in entries if e["bucket"] != "external"] == list(
        range(before["last_seq"] + 1, after["last_seq"] + 1))
    assert all(e["seq"] is None for e in entries if e["bucket"] == "external")
    assert await ledger.check_invariant(merchant_id) == []


async def test_a_posting_that_would_overdraw_is_refused_and_writes_nothing(merchant, database):
    merchant_id = merchant.merchant_id
    before = await _balance(merchant_id)
    transactions = await db.fetchval("SELECT count(*) FROM ledger_transaction WHERE merchant = $1", merchant_id)

    assert await _post(merchant_id, "payout_succeeded") is None  # nothing is locked

    assert await _balance(merchant_id) == before
    assert await db.fetchval("SELECT count(*) FROM ledger_transaction WHERE merchant = $1",
                             merchant_id) == transactions


async def test_the_database_still_refuses_legs_that_do_not_sum_to_zero(merchant, database):
    merchant_id = merchant.merchant_id
    before = await _balance(merchant_id)
    with pytest.raises(asyncpg.PostgresError):
        async with db.transaction():
            await db.fetchrow(CALL, merchant_id, "topup", None, datetime.now(UTC), ["available"], [AMOUNT])
    assert await _balance(merchant_id) == before


async def test_legs_that_balance_only_across_two_transactions_are_refused(merchant, database):
    # The check runs once per INSERT statement: it must add up each transaction's legs on
    # their own, not the statement's, or +X in one transaction and -X in another would pass.
    merchant_id = merchant.merchant_id
    now = datetime.now(UTC)
    with pytest.raises(asyncpg.PostgresError, match="does not balance"):
        async with db.transaction():
            first, second = [await db.fetchval(
                "INSERT INTO ledger_transaction (merchant, kind, payout_id, created_at)"
                " VALUES ($1, 'topup', NULL, $2) RETURNING id", merchant_id, now) for _ in range(2)]
            await db.execute(
                "INSERT INTO ledger_entry (transaction, merchant, bucket, amount, seq, kind, payout_id, created_at)"
                " VALUES ($1, $3, 'external', $4, NULL, 'topup', NULL, $5),"
                "        ($2, $3, 'external', -$4::bigint, NULL, 'topup', NULL, $5)",
                first, second, merchant_id, AMOUNT, now)
    assert await db.fetchval("SELECT count(*) FROM ledger_transaction WHERE merchant = $1 AND kind = 'topup'"
                             " AND created_at = $2", merchant_id, now) == 0
