"""A backlog of webhook deliveries waits in the database, not in the worker: one worker
holds at most SANDBOX_WEBHOOK_LINE attempts (each with its event's body in memory) and
takes the rest from the database in turn, until every one is delivered, once."""

from __future__ import annotations

import asyncio

import pytest

from sandbox import db
from sandbox.settings import get_settings
from sandbox.webhooks.delivery import relay
from sandbox.webhooks.store import deliveries
from tests.helpers import new_merchant, payout_body, wait_for
from tests.webhooks.helpers import arrivals, endpoint
from tests.webhooks.receiver import Received, Reply
from worker.webhooks import build_pool

LINE, MERCHANT_LINE = 10, 4
PAYOUTS = 30


@pytest.fixture
def short_line(monkeypatch):
    """Before the worker starts: its pool is built from these. Sweeps once a minute: the
    backlog must drain through the pool's own refills. A held request must not time out
    while the backlog forms, however loaded the machine: a timed-out attempt is sent again
    (at least once, as the webhooks guide says), and this test counts arrivals (seen in CI
    beside a bench under valgrind: 31 arrivals for 30 deliveries at the 15 s default)."""
    monkeypatch.setenv("SANDBOX_WEBHOOK_TIMEOUT_S", "300")
    monkeypatch.setenv("SANDBOX_WEBHOOK_LINE", str(LINE))
    monkeypatch.setenv("SANDBOX_WEBHOOK_LINE_PER_MERCHANT", str(MERCHANT_LINE))
    monkeypatch.setenv("SANDBOX_WEBHOOK_PER_ORIGIN", "1")
    monkeypatch.setenv("SANDBOX_SWEEP_EVERY_S", "60")


async def _count(merchant_id: str, where: str) -> int:
    return await db.fetchval(f"SELECT count(*) FROM webhook_delivery WHERE merchant = $1 AND {where}", merchant_id)


async def test_a_backlog_waits_in_the_database_not_in_the_worker(short_line, each_client, merchant, worker,
                                                                 receiver):
    opened = asyncio.Event()

    async def held(_: Received) -> Reply:
        await opened.wait()  # the receiver takes nothing until the backlog has formed
        return 200, {}, b"ok"

    receiver.responder = held
    await endpoint(merchant, receiver, events=["payout.created"])
    try:
        for _ in range(PAYOUTS):
            assert (await merchant.post("/payouts", payout_body())).status_code == 201

        async def backlog():
            return await _count(merchant.merchant_id, "status = 'pending'") >= PAYOUTS
        await wait_for(backlog, what=f"{PAYOUTS} pending deliveries")
        await arrivals(receiver, 1, what="the first webhook")
        # Taken by the worker (leased): no more than the merchant's line; the rest wait unleased.
        assert await _count(merchant.merchant_id, "lease_token IS NOT NULL") <= MERCHANT_LINE
    finally:
        opened.set()

    async def delivered():
        return await _count(merchant.merchant_id, "status = 'succeeded'") == PAYOUTS
    await wait_for(delivered, timeout=30, what=f"{PAYOUTS} deliveries to succeed")
    assert len(receiver.received) == PAYOUTS and len(set(receiver.ids())) == PAYOUTS


async def test_the_relay_leases_no_more_of_a_merchant_than_its_line_has_room_for(short_line, merchant, receiver):
    """Deliveries beyond a merchant's room in the line are made unleased, due, for a refill
    to take in turn; none is leased to the worker only to be handed straight back."""
    await endpoint(merchant, receiver, events=["payout.created"])
    for _ in range(MERCHANT_LINE + 3):
        assert (await merchant.post("/payouts", payout_body())).status_code == 201
    pool = build_pool(get_settings())
    token = deliveries.new_token()
    try:
        # No worker runs: this relay is the one that makes the deliveries (a lease as
        # large as the outbox, so other tests' leftover events take none of this one's).
        _, ready, held = await relay.fan_out(10_000, token, limit=10_000, room=pool.merchant_room)
        assert sum(t.merchant == merchant.merchant_id for t in ready) == MERCHANT_LINE
        assert await _count(merchant.merchant_id, "lease_token IS NOT NULL") == MERCHANT_LINE
        assert await _count(merchant.merchant_id, "lease_token IS NULL AND status = 'pending'") == 3
    finally:
        await deliveries.release([token])
        await pool.close()
        await pool.http.aclose()


async def test_a_delivery_job_leaves_a_full_lines_delivery_due_for_the_refill(short_line, merchant, receiver):
    """A delivery's own job (a delayed or retried attempt) finds its merchant's line full:
    the delivery is left as it was, due and unleased, and goes out once the line drains,
    without waiting for a sweep."""
    opened = asyncio.Event()

    async def held(_: Received) -> Reply:
        await opened.wait()
        return 200, {}, b"ok"

    receiver.responder = held
    await endpoint(merchant, receiver, events=["payout.created"])
    for _ in range(MERCHANT_LINE + 1):
        assert (await merchant.post("/payouts", payout_body())).status_code == 201
    pool = build_pool(get_settings())
    try:
        _, ready, _ = await relay.fan_out(10_000, deliveries.new_token(), limit=10_000, room=pool.merchant_room)
        await pool.take(ready)  # the line is full, its attempts held by the receiver
        last = await db.fetchrow("SELECT id, updated_at FROM webhook_delivery WHERE merchant = $1"
                                 " AND lease_token IS NULL AND status = 'pending'", merchant.merchant_id)
        assert last is not None
        assert await pool.deliver(last["id"]) is False
        after = await db.fetchrow("SELECT lease_token, updated_at FROM webhook_delivery WHERE id = $1", last["id"])
        assert after["lease_token"] is None and after["updated_at"] == last["updated_at"]  # never leased
        opened.set()
        await arrivals(receiver, MERCHANT_LINE + 1, what="every webhook, the last through the refill")
    finally:
        opened.set()
        await pool.close()
        await pool.http.aclose()


async def test_a_refill_that_meets_only_closed_deliveries_looks_on_to_the_due_ones(short_line, stack, merchant,
                                                                                    receiver):
    """Deliveries still pending for an endpoint its merchant has disabled (attempts in flight
    at the disabling, retried since: `close_pending` leaves those to their next claim) are
    the longest due, and the claim that meets them closes them. A refill whose claim met
    only those (three merchants' lines fill a pool of ten) looks on, rather than taking them
    for "nothing due" and leaving the due deliveries behind them to the next sweep, a minute
    away here."""
    token = deliveries.new_token()
    gone = []
    for _ in range(3):
        api, merchant_id = await new_merchant(stack)
        try:
            hook = await endpoint(api, receiver, "/gone", events=["payout.created"])
            for _ in range(MERCHANT_LINE + 1):
                assert (await api.post("/payouts", payout_body())).status_code == 201
        finally:
            await api.aclose()
        await relay.fan_out(10_000, token, limit=10_000)
        await db.execute("UPDATE webhook_endpoint SET status = 'disabled' WHERE id = $1", hook["id"])
        gone.append(merchant_id)
    await endpoint(merchant, receiver, events=["payout.created"])
    for _ in range(MERCHANT_LINE):
        assert (await merchant.post("/payouts", payout_body())).status_code == 201
    await relay.fan_out(10_000, token, limit=10_000)
    await deliveries.release([token])  # every delivery due, unleased; the disabled endpoints' first
    pool = build_pool(get_settings())
    try:
        pool.refill()
        await pool.wait_refilled()
        await arrivals(receiver, MERCHANT_LINE, what="webhooks of the enabled endpoint", timeout=10)
        assert {r.path for r in receiver.received} == {"/hook"}
        closed = await db.fetchval("SELECT count(*) FROM webhook_delivery WHERE merchant = ANY($1::varchar[])"
                                   " AND status = 'failed'", gone)
        assert closed == 3 * (MERCHANT_LINE + 1)
    finally:
        await pool.close()
        await pool.http.aclose()
