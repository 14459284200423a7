"""A delivery pool that stops starts nothing more and hands back what it held: the
attempts it was making are cancelled, their leases released with each attempt due at
once, and one log line says so. Deliveries waiting for the pool in the database stay
there, unleased (the old pool's refill took them as its cancelled attempts ended, and
started them on a client about to close: 'Session is closed' tracebacks, leases held by
a worker that was gone)."""

from __future__ import annotations

import asyncio
import logging
import re

import pytest
import redis.exceptions

from sandbox import db
from sandbox.events import wakeups
from sandbox.settings import get_settings
from sandbox.webhooks.delivery import relay
from sandbox.webhooks.store import deliveries
from tests.helpers import payout_body
from tests.webhooks.helpers import arrivals, endpoint
from tests.webhooks.receiver import Received, Reply
from worker.webhooks import build_pool, shutdown

MERCHANT_LINE, WAITING = 6, 3


@pytest.fixture
def line(monkeypatch):
    """All of a merchant's line on the wire at once; the pool is built from these."""
    monkeypatch.setenv("SANDBOX_WEBHOOK_LINE_PER_MERCHANT", str(MERCHANT_LINE))
    monkeypatch.setenv("SANDBOX_WEBHOOK_PER_ORIGIN", str(MERCHANT_LINE))
    monkeypatch.setenv("SANDBOX_WEBHOOK_PER_MERCHANT", str(MERCHANT_LINE))


async def _held_pool(merchant, receiver, opened: asyncio.Event):
    """A pool whose merchant's line is full of attempts the receiver holds, with more of
    the merchant's deliveries due in the database behind them."""
    async def held(_: Received) -> Reply:
        await opened.wait()
        return 200, {}, b"ok"

    receiver.responder = held
    await endpoint(merchant, receiver, events=["payout.created"])
    for _ in range(MERCHANT_LINE + WAITING):
        assert (await merchant.post("/payouts", payout_body())).status_code == 201
    pool = build_pool(get_settings())
    # No worker runs: this relay makes the deliveries (a lease as large as the outbox).
    _, ready, _ = await relay.fan_out(10_000, deliveries.new_token(), limit=10_000, room=pool.merchant_room)
    await pool.take(ready)
    await arrivals(receiver, MERCHANT_LINE, what="the line's attempts on the wire")
    pool.refill()  # as a relay does for what it left due: the pool now has a backlog
    await pool.wait_refilled()
    return pool


async def _rows(merchant_id: str):
    return await db.fetch("SELECT id, lease_token, next_attempt_at <= now() AS due, attempts FROM webhook_delivery"
                          " WHERE merchant = $1 AND status = 'pending'", merchant_id)


def _handed_back(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "sandbox.webhooks" and "handed back" in r.getMessage()]


async def _closed(merchant_id: str) -> None:
    """What this test handed back is no later test's to take (a pool takes any merchant's due deliveries)."""
    await db.execute("UPDATE webhook_delivery SET status = 'cancelled', next_attempt_at = NULL"
                     " WHERE merchant = $1 AND status = 'pending'", merchant_id)


async def test_a_stopping_pool_starts_nothing_and_hands_back_what_it_held(line, merchant, receiver, caplog):
    caplog.set_level(logging.INFO, logger="sandbox.webhooks")
    opened = asyncio.Event()
    try:
        pool = await _held_pool(merchant, receiver, opened)
        await shutdown({"webhook_pool": pool})
        await pool.wait_refilled()  # a refill the stop set off would have started by now
        assert not pool._tasks, "the stopping pool started attempts"
    finally:
        opened.set()
    rows = await _rows(merchant.merchant_id)
    await _closed(merchant.merchant_id)
    assert len(rows) == MERCHANT_LINE + WAITING
    assert all(r["lease_token"] is None and r["due"] and r["attempts"] == 0 for r in rows), rows
    assert len(receiver.received) == MERCHANT_LINE
    [handed] = _handed_back(caplog)
    assert re.fullmatch(r"handed back \d+ webhook deliveries, each due again at once", handed.getMessage())
    # The line's attempts, each by id (a pool's refill may also have taken other tests' leftovers).
    on_the_wire = {r["id"] for r in rows} & set(handed.delivery_ids)  # pyright: ignore[reportAttributeAccessIssue]
    assert len(on_the_wire) == MERCHANT_LINE
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


async def test_a_pool_stopping_without_redis_still_hands_back_through_the_database(line, merchant, receiver, caplog,
                                                                                   monkeypatch):
    """Redis gone first: no worker can be woken for the deliveries, but they are handed
    back all the same (due, unleased: a sweep takes them), in one line that says so."""
    caplog.set_level(logging.INFO, logger="sandbox.webhooks")
    opened = asyncio.Event()
    calls = 0

    async def redis_gone(*args, **kwargs):
        nonlocal calls
        calls += 1
        raise redis.exceptions.ConnectionError("Error 2 connecting to redis.sock. No such file or directory.")

    try:
        pool = await _held_pool(merchant, receiver, opened)
        monkeypatch.setattr(wakeups, "schedule_attempt", redis_gone)
        await shutdown({"webhook_pool": pool})
    finally:
        opened.set()
    assert calls == 1  # not once a delivery, each waiting for a server that is gone
    rows = await _rows(merchant.merchant_id)
    await _closed(merchant.merchant_id)
    assert len(rows) == MERCHANT_LINE + WAITING
    assert all(r["lease_token"] is None and r["due"] for r in rows), rows
    [handed] = [r.getMessage() for r in _handed_back(caplog)]
    assert re.fullmatch(r"handed back \d+ webhook deliveries, each due again at once \(no worker woken for them: "
                        r"ConnectionError: .*; the next sweep takes them\)", handed), handed
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
