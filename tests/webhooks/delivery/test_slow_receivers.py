"""Receivers that trickle their answer: one deadline per request (connect to last
byte), one attempt in flight per delivery, and one merchant's hanging endpoints never
delay another merchant's webhooks or payouts. Real slow receivers on real sockets; the
deadline is made short through SANDBOX_WEBHOOK_TIMEOUT_S."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from sandbox import db
from tests.helpers import payout_body, wait_for
from tests.webhooks.helpers import FINAL, arrivals, deliveries, endpoint, events_of, payout_in
from tests.webhooks.trickle import Trickle

DEADLINE_S = 1.0


@pytest.fixture
def short_deadline(monkeypatch):
    """Before the worker starts: its HTTP client and pool are built from these."""
    monkeypatch.setenv("SANDBOX_WEBHOOK_TIMEOUT_S", str(DEADLINE_S))
    monkeypatch.setenv("SANDBOX_SWEEP_AFTER_S", "1")


@pytest.fixture
async def trickles(stack) -> AsyncIterator[list[Trickle]]:
    started = [await Trickle().start() for _ in range(20)]
    yield started
    for t in started:
        await t.stop()


async def _disable_endpoints(merchant_id: str) -> None:
    """Their deliveries are closed when next claimed, instead of following later tests."""
    await db.execute("UPDATE webhook_endpoint SET status = 'disabled', disabled_reason = 'test ended'"
                     " WHERE merchant = $1", merchant_id)


async def test_a_trickling_receiver_is_cut_off_at_the_deadline(short_deadline, each_client, merchant, worker,
                                                                 trickles):
    slow = trickles[0]
    r = await merchant.post("/webhook-endpoints", {"url": slow.url(), "events": ["payout.created"]})
    assert r.status_code == 201, r.text
    try:
        p = (await merchant.post("/payouts", payout_body())).json()
        event = await wait_for(lambda: _first_event(merchant, p["id"]), what="the event")

        async def two_attempts():
            found = await deliveries(merchant, event["id"])
            return found[0] if found and found[0]["attempt_count"] >= 2 else None

        delivery = await wait_for(two_attempts, timeout=15, what="two attempts, each cut off at the deadline")
        first, second = delivery["attempts"][:2]
        assert [first["number"], second["number"]] == [1, 2]
        for a in (first, second):
            assert a["status_code"] is None and a["error"].startswith("timeout"), a
            assert DEADLINE_S * 1000 * 0.9 <= a["latency_ms"] < DEADLINE_S * 1000 + 1500, a
        await wait_for(lambda: _all_closed(slow), what="the worker to close its connections")
        mine = [h for h in slow.held if h.webhook_id == event["id"]]
        assert len(mine) >= 2
        for h in mine:  # each connection held for about the deadline, never the 1,000 s the answer takes
            assert h.closed - h.opened < DEADLINE_S + 1.5, h
        for earlier, later in zip(mine, mine[1:], strict=False):  # one attempt in flight at a time
            assert later.opened >= earlier.closed, (earlier, later)
    finally:
        await _disable_endpoints(merchant.merchant_id)


async def test_one_merchants_hanging_endpoints_do_not_delay_another(short_deadline, each_client, merchant,
                                                                       other_merchant, worker, trickles, receiver):
    for slow in trickles:
        r = await merchant.post("/webhook-endpoints", {"url": slow.url()})
        assert r.status_code == 201, r.text
    await endpoint(other_merchant, receiver, events=["payout.created"])
    try:
        for _ in range(5):  # 5 payouts x their events x 20 endpoints: hundreds of hanging deliveries
            assert (await merchant.post("/payouts", payout_body())).status_code == 201

        async def hanging():
            return sum(len(t.open_now()) for t in trickles) >= 10
        await wait_for(hanging, timeout=10, what="the slow merchant's deliveries to hang")

        started = time.monotonic()
        p = (await other_merchant.post("/payouts", payout_body())).json()
        await arrivals(receiver, 1, timeout=5, what="the other merchant's webhook")
        assert time.monotonic() - started < 2.0
        assert receiver.ids() == [(await events_of(other_merchant, p["id"]))[0]["id"]]
        done = await payout_in(other_merchant, p["id"], FINAL)
        assert done["status"] == "success" and time.monotonic() - started < 5.0
        # The slow merchant never had more than its share of the worker's requests open.
        assert max(await _peak_open(trickles, 1.0)) <= 10
    finally:
        await _disable_endpoints(merchant.merchant_id)


async def _peak_open(trickles: list[Trickle], for_s: float) -> list[int]:
    seen = []
    deadline = time.monotonic() + for_s
    while time.monotonic() < deadline:
        seen.append(sum(len(t.open_now()) for t in trickles))
        await asyncio.sleep(0.02)
    return seen


async def _first_event(api, payout_id):
    events = await events_of(api, payout_id)
    return events[0] if events else None


async def _all_closed(slow: Trickle) -> bool:
    return bool(slow.held) and not slow.open_now()
