"""A payout's events can be put in order: each carries `sequence` (1, 2, 3, … with no
gaps, in the order the payout moved) on GET /events and in the signed webhook body, and
its moves show strictly later times even at SANDBOX_TIME_SCALE=0 (the suite's), where a
whole scenario happens in one instant."""

from __future__ import annotations

import asyncio
import json
import secrets
from itertools import pairwise

import asyncpg
import msgspec
import pytest

from tests.helpers import payout_body, wait_for
from tests.webhooks.helpers import FINAL, arrivals, endpoint, events_of, expected_types, payout_in
from tests.webhooks.verify import verify

# `…0011`, bank_offline_then_success: six moves after creation, seven events.
OFFLINE_THEN_PAID = "12345678900011"
PATH = ["pending", "processing", "retrying", "processing", "retrying", "processing", "success"]


def _increasing(values: list) -> bool:
    return all(a < b for a, b in pairwise(values))


async def test_a_payout_moving_in_one_instant_keeps_its_order(merchant, worker, receiver):
    ep = await endpoint(merchant, receiver, events=["payout.*"])
    p = (await merchant.post("/payouts", payout_body(account=OFFLINE_THEN_PAID))).json()
    paid = await payout_in(merchant, p["id"], {"success"})
    history = paid["status_history"]
    assert [h["status"] for h in history] == PATH
    # RFC 3339 with milliseconds and a Z, one format: text order is time order.
    assert _increasing([h["at"] for h in history]), history

    events = await events_of(merchant, p["id"])  # oldest first
    assert [e["sequence"] for e in events] == list(range(1, len(PATH) + 1))
    assert [e["type"] for e in events] == expected_types(paid)  # the order the payout moved
    assert _increasing([e["created_at"] for e in events])
    assert [e["created_at"] for e in events[1:]] == [h["at"] for h in history[1:]]

    await arrivals(receiver, len(PATH))
    bodies = [verify(ep, got) for got in receiver.received]  # the signature covers the bytes sent
    assert all(set(b) == {"id", "type", "timestamp", "sequence", "data", "request"} for b in bodies)
    by_sequence = sorted(bodies, key=lambda b: b["sequence"])
    assert [b["sequence"] for b in by_sequence] == list(range(1, len(PATH) + 1))
    assert [(b["id"], b["type"], b["timestamp"]) for b in by_sequence] == \
        [(e["id"], e["type"], e["created_at"]) for e in events]
    assert _increasing([b["timestamp"] for b in by_sequence])
    assert by_sequence[-1]["data"]["status"] == "success"


async def _all_settled(merchant, payout_ids: list[str]) -> list[dict]:
    return [await payout_in(merchant, payout_id, FINAL) for payout_id in payout_ids]


async def test_moves_racing_on_one_payout_never_share_a_sequence(merchant, admin, worker):
    """An admin's approval, an admin's rejection and the merchant's cancel sent at once for
    each payout in review, while the worker steps whatever was approved: the moves take
    turns on the payout's row, and its events are numbered 1..n in the order they
    happened, whoever won."""
    made = [(await merchant.post("/payouts", payout_body(amount="100000.00"))).json() for _ in range(8)]
    for p in made:
        assert p["status"] == "in_review"
    await asyncio.gather(*[call for p in made for call in (
        admin.post(f"/admin/payouts/{p['id']}/approve", {}),
        admin.post(f"/admin/payouts/{p['id']}/reject", {}),
        merchant.post(f"/payouts/{p['id']}/cancel", {}))])
    settled = await _all_settled(merchant, [p["id"] for p in made])
    outcomes = set()
    for payout in settled:
        events = await events_of(merchant, payout["id"])
        assert [e["sequence"] for e in events] == list(range(1, len(events) + 1)), payout["id"]
        assert [e["type"] for e in events] == expected_types(payout), payout["id"]
        assert _increasing([h["at"] for h in payout["status_history"]])
        outcomes.add(payout["status"])
    assert outcomes <= {"success", "rejected", "cancelled"}


async def test_one_event_read_alone_has_its_place_too(merchant, worker):
    p = (await merchant.post("/payouts", payout_body())).json()
    await payout_in(merchant, p["id"], {"success"})
    page = (await merchant.get("/events", params={"payout_id": p["id"]})).json()["data"]  # newest first
    assert [e["sequence"] for e in page] == [3, 2, 1]
    one = (await merchant.get(f"/events/{page[0]['id']}")).json()
    assert json.dumps(one) == json.dumps(page[0])


async def test_a_number_is_never_given_twice_even_to_writers_that_do_not_lock(stack, merchant):
    """The payout's row lock is what takes its moves in turn; under it, the unique index on
    (payout_id, sequence) is the guard: two transactions writing an event for one payout
    without that lock count from the same last number, and the second is refused rather
    than given the first's."""
    p = (await merchant.post("/payouts", payout_body())).json()  # payout.created: 1
    emit = "SELECT outbox_emit($1, $2, 'payout.processing', $3, $4::jsonb, now())"
    data = msgspec.json.encode(p).decode()
    one, two = await asyncpg.connect(stack.database_url), await asyncpg.connect(stack.database_url)
    try:
        first, second = one.transaction(), two.transaction()
        await first.start()
        await second.start()
        await one.execute(emit, "evt_" + secrets.token_hex(12), merchant.merchant_id, p["id"], data)
        racing = asyncio.create_task(two.execute(emit, "evt_" + secrets.token_hex(12), merchant.merchant_id,
                                                 p["id"], data))

        async def waits_for_the_first() -> bool:
            return await one.fetchval("SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1",
                                      two.get_server_pid()) or racing.done()
        await wait_for(waits_for_the_first, what="the second writer to wait on the first")
        await first.commit()
        with pytest.raises(asyncpg.UniqueViolationError):
            await racing
        await second.rollback()
    finally:
        await one.close()
        await two.close()
    events = await events_of(merchant, p["id"])
    assert [(e["type"], e["sequence"]) for e in events] == [("payout.created", 1), ("payout.processing", 2)]


async def test_a_payout_created_in_review_numbers_both_its_events(merchant, database):
    """Created in one statement, with or without an idempotency key: `payout.created` is 1
    and `payout.in_review` 2, in that order."""
    from sandbox.payouts.lifecycle import service
    from sandbox.payouts.model.schemas import PayoutCreate

    keyed = (await merchant.post("/payouts", payout_body(amount="100000.00"))).json()
    body = msgspec.convert(payout_body(amount="100000.00"), PayoutCreate)
    unkeyed = msgspec.to_builtins(await service.create(merchant.merchant_id, body))
    for payout in (keyed, unkeyed):
        events = await events_of(merchant, payout["id"])
        assert [(e["type"], e["sequence"]) for e in events] == [("payout.created", 1), ("payout.in_review", 2)]


async def test_events_written_many_to_a_call_are_numbered_in_their_order_and_counted_per_payout(stack, merchant):
    """`outbox_emit_many` (the worker's steps and a POST write their events through it):
    two payouts' events interleaved, and one about no payout, in one call. Each payout's
    count goes on from its last event, in the arrays' order; the outbox's `number`, which
    the relay and each delivery's `seq` follow, is drawn in that order too; every event
    is listed for the relay."""
    a, b = [(await merchant.post("/payouts", payout_body())).json() for _ in range(2)]  # payout.created: 1
    ids = ["evt_" + secrets.token_hex(12) for _ in range(4)]
    payouts = [a["id"], b["id"], a["id"], None]
    types = ["payout.processing", "payout.processing", "payout.success", "payout.batch.completed"]
    conn = await asyncpg.connect(stack.database_url)
    try:
        async with conn.transaction():
            for p in (a, b):  # a writer of a payout's events holds its row
                await conn.execute("SELECT 1 FROM payout WHERE id = $1 FOR UPDATE", p["id"])
            written = await conn.fetchval(
                "SELECT outbox_emit_many($1::varchar[], $2::varchar[], $3::varchar[], $4::varchar[],"
                " $5::text[]::jsonb[], array_fill(now(), ARRAY[4]), $6::text[]::jsonb[])",
                ids, [merchant.merchant_id] * 4, types, payouts, [json.dumps({"n": i}) for i in range(4)], [None] * 4)
            rows = await conn.fetch(
                "SELECT e.id, e.sequence, e.number, e.data, u.number IS NOT NULL AS listed FROM outbox_event e"
                " LEFT JOIN outbox_unrelayed u USING (number) WHERE e.id = ANY($1::varchar[])", ids)
    finally:
        await conn.close()
    assert written == 4
    by_id = {r["id"]: r for r in rows}
    assert [by_id[i]["sequence"] for i in ids] == [2, 2, 3, 1]
    assert _increasing([by_id[i]["number"] for i in ids])
    assert [json.loads(by_id[i]["data"]) for i in ids] == [{"n": i} for i in range(4)]
    assert all(r["listed"] for r in rows)  # no worker here: the lines wait for the relay
    events = await events_of(merchant, a["id"])
    assert [(e["type"], e["sequence"]) for e in events] == \
        [("payout.created", 1), ("payout.processing", 2), ("payout.success", 3)]
