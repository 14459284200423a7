"""POST /payouts in its common case is one PostgreSQL round trip: the idempotency key's
lock and lookup, the posting, the payout, its events and the stored response are one
call of `payout_create`, with no BEGIN or COMMIT around it. A replay is one call too,
and its request log entry one more, written before its answer leaves (with several API
processes the client's next read of its log may be answered by another one:
sandbox/requests/journal.py). What the call stores is byte for byte what the first
request was answered."""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter

import asyncpg
import pytest
from asyncpg.transaction import Transaction

from sandbox.ledger.service import check_invariant
from sandbox.requests.writer import WRITER
from tests.helpers import payout_body

_CALLS = ("fetch", "fetchrow", "fetchval", "execute", "executemany")


@pytest.fixture
def statements(monkeypatch) -> Counter:
    """Every statement and transaction boundary any connection of this process sends, but
    the request log's batches: those write earlier requests' entries after their answers
    (one INSERT when alone), at a moment of their own, and would be counted as whichever
    request was under way."""
    seen: Counter = Counter()

    def counting(name, original):
        async def call(self, *args, **kwargs):
            if asyncio.current_task() not in WRITER.batches:
                seen[name] += 1
            return await original(self, *args, **kwargs)
        return call

    for name in _CALLS:
        monkeypatch.setattr(asyncpg.Connection, name, counting(name, getattr(asyncpg.Connection, name)))
    for name in ("start", "commit", "rollback"):
        monkeypatch.setattr(Transaction, name, counting(name, getattr(Transaction, name)))
    return seen


async def test_create_is_one_round_trip_and_a_replay_one_and_its_log_entry(merchant, statements):
    assert (await merchant.post("/payouts", payout_body())).status_code == 201  # warms the key and scenario caches
    key = secrets.token_hex(8)
    statements.clear()
    first = await merchant.post("/payouts", payout_body(), idem=key)
    assert first.status_code == 201, first.text
    assert sum(statements.values()) == 1, statements

    statements.clear()
    again = await merchant.post("/payouts", payout_body(), idem=key)
    assert statements == {"fetchrow": 1, "execute": 1}, statements  # the stored answer; the entry
    assert again.headers["idempotent-replayed"] == "true"
    assert again.status_code == 201 and again.content == first.content
    assert again.headers["content-type"] == first.headers["content-type"]
    assert await check_invariant(merchant.merchant_id) == []


async def test_a_duplicate_reference_is_refused_and_stored_as_before(merchant):
    body = {**payout_body(), "reference": "order-1"}
    assert (await merchant.post("/payouts", body)).status_code == 201
    key = secrets.token_hex(8)
    refused = await merchant.post("/payouts", {**body, "amount": "10.00"}, idem=key)
    assert refused.status_code == 409 and refused.json()["code"] == "duplicate_reference"
    again = await merchant.post("/payouts", {**body, "amount": "10.00"}, idem=key)
    assert again.status_code == 409 and again.headers["idempotent-replayed"] == "true"
    assert (await merchant.get("/balance")).json()["locked"] == "1500.00"
    assert await check_invariant(merchant.merchant_id) == []
