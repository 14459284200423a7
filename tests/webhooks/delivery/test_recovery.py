"""Nothing is lost and nothing doubles when wake-ups, jobs or workers go missing: the
sweeper relays what a lost wake-up left, re-attempts what a dead worker held, and
running the relay or a delivery job several times at once sends each request once."""

import asyncio

import asyncpg
import pytest

from sandbox import db, redis_client
from sandbox.events import wakeups
from sandbox.settings import get_settings
from sandbox.webhooks.delivery import relay, sweeper
from sandbox.webhooks.store import deliveries, target_policy
from tests.helpers import payout_body, wait_for
from tests.webhooks.helpers import arrivals, delivery_settled, endpoint, events_of, payout_in
from worker.webhooks import build_pool


@pytest.fixture
def quick_sweeps(monkeypatch):
    monkeypatch.setenv("SANDBOX_SWEEP_AFTER_S", "1")


@pytest.fixture
async def pool():
    pool = build_pool(get_settings())
    yield pool
    await pool.close()
    await pool.http.aclose()


async def test_a_lost_wake_up_is_swept(merchant, worker, receiver, quick_sweeps):
    await endpoint(merchant, receiver, events=["payout.created"])
    redis = redis_client.get()
    # A marker that says "a relay job is queued" when none is: every wake-up is skipped.
    await redis.set(wakeups.MARKER, b"1", px=60_000)
    try:
        p = (await merchant.post("/payouts", payout_body())).json()
        await arrivals(receiver, 1, timeout=30)
    finally:
        await redis.delete(wakeups.MARKER)
    assert receiver.received[0].webhook_id == (await events_of(merchant, p["id"]))[0]["id"]


async def test_an_attempt_a_dead_worker_held_is_made_again(merchant, worker, receiver, quick_sweeps):
    # A long delay keeps the scheduled job out of the way: only the sweeper can help.
    await endpoint(merchant, receiver, events=["payout.created"], faults={"delay_ms": 120_000})
    p = (await merchant.post("/payouts", payout_body())).json()
    event = await wait_for(lambda: _first_event(merchant, p["id"]), what="the event")
    held = await wait_for(lambda: _pending(merchant, event["id"]), what="the held delivery")
    # Made due and leased in one transaction: the running worker's sweeps (every second
    # here) would otherwise lease it first, between the two statements.
    async with db.transaction():
        await db.execute("UPDATE webhook_delivery SET next_attempt_at = now() - interval '5 seconds'"
                         " WHERE id = $1", held["id"])
        dead = await deliveries.claim(held["id"])  # a worker takes the lease, then dies
    assert dead is not None and await deliveries.claim(held["id"]) is None
    await db.execute("UPDATE webhook_delivery SET lease_until = now() - interval '1 second' WHERE id = $1",
                     held["id"])  # ... and its lease runs out
    done = await delivery_settled(merchant, event["id"], "succeeded")
    assert done["attempt_count"] == 1 and receiver.ids() == [event["id"]]


async def _first_event(api, payout_id):
    events = await events_of(api, payout_id)
    return events[0] if events else None


async def _pending(api, event_id):
    found = (await api.get(f"/events/{event_id}/deliveries")).json()["data"]
    return found[0] if found and found[0]["next_attempt_at"] else None


async def test_delivery_jobs_run_many_times_send_once(merchant, worker, receiver, pool):
    await endpoint(merchant, receiver, events=["payout.created"])
    p = (await merchant.post("/payouts", payout_body())).json()
    await arrivals(receiver, 1)
    event_id = receiver.ids()[0]
    made = (await merchant.post(f"/events/{event_id}/resend", {})).json()["deliveries"][0]
    ran = await asyncio.gather(*(pool.deliver(made["id"]) for _ in range(5)))
    assert sum(ran) <= 1
    await delivery_settled(merchant, event_id)
    await wait_for(lambda: _settled_all(merchant, event_id), what="both deliveries")
    assert receiver.ids() == [event_id, event_id]
    assert p["id"]


async def _settled_all(api, event_id):
    found = (await api.get(f"/events/{event_id}/deliveries")).json()["data"]
    return all(d["status"] == "succeeded" and d["attempt_count"] == 1 for d in found) and len(found) == 2


async def test_relays_running_side_by_side_send_each_event_once(merchant, worker, receiver, pool):
    """Two workers' relays at once (and a second woken in one of them)."""
    await endpoint(merchant, receiver)
    other = build_pool(get_settings())
    try:
        ids = [(await merchant.post("/payouts", payout_body())).json()["id"] for _ in range(10)]
        await asyncio.gather(relay.run(pool), relay.run(other), relay.run(pool))
        for payout_id in ids:
            await payout_in(merchant, payout_id, {"success"})
        await arrivals(receiver, 30)
        await asyncio.gather(relay.run(pool), relay.run(other), relay.run(pool))
        assert len(receiver.received) == 30 and len(set(receiver.ids())) == 30
    finally:
        await other.close()
        await other.http.aclose()


async def test_a_relay_woken_while_another_runs_leaves_its_events_to_it(merchant, receiver, pool, monkeypatch):
    """One relay at a time in a worker: the one woken returns at once, and the running
    one relays what committed meanwhile before it ends (nothing waits for a sweep)."""
    await endpoint(merchant, receiver, events=["payout.created"])
    assert (await merchant.post("/payouts", payout_body())).status_code == 201
    batch = relay.fan_out
    woken: list[int] = []
    calls = 0

    async def events_commit_meanwhile(*args, **kwargs):
        nonlocal calls
        calls += 1
        result = await batch(*args, **kwargs)
        if calls == 1:  # while the first batch is in hand: a new event commits, its relay job starts
            assert (await merchant.post("/payouts", payout_body())).status_code == 201
            woken.append(await relay.run(pool))
        return result

    monkeypatch.setattr(relay, "fan_out", events_commit_meanwhile)
    relayed = await relay.run(pool)
    assert woken == [0] and relayed >= 2
    assert await db.fetchval("SELECT count(*) FROM outbox_event e JOIN outbox_unrelayed USING (number)"
                             " WHERE e.merchant = $1", merchant.merchant_id) == 0
    await arrivals(receiver, 2)
    assert not pool.relaying


async def test_deliveries_whose_claim_lost_its_answer_go_out_at_the_next_sweep(merchant, receiver, pool,
                                                                               monkeypatch):
    """The relay's transaction commits, then the connection drops before its answer comes
    (PostgreSQL crashing at that moment): the deliveries it made are leased to a caller
    that never got them. The next sweep releases them, and they go out then, not when
    their lease runs out (a minute and more)."""
    await endpoint(merchant, receiver, events=["payout.created"])
    p = (await merchant.post("/payouts", payout_body())).json()
    committed = relay.fan_out

    async def answer_lost(*args, **kwargs):
        await committed(*args, **kwargs)
        raise asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation")

    monkeypatch.setattr(relay, "fan_out", answer_lost)
    with pytest.raises(asyncpg.ConnectionDoesNotExistError):
        await relay.run(pool)
    monkeypatch.undo()
    leased = await db.fetch("SELECT d.lease_until FROM webhook_delivery d JOIN outbox_event e ON e.id = d.event"
                            " WHERE e.payout_id = $1 AND d.status = 'pending'", p["id"])
    assert len(leased) == 1 and leased[0]["lease_until"] is not None  # leased, to nobody
    await sweeper.sweep(pool)
    await arrivals(receiver, 1, timeout=60)
    assert receiver.ids() == [(await events_of(merchant, p["id"]))[0]["id"]]


@pytest.mark.parametrize("read", ["the lease's renewal", "whether teams are made"])
async def test_an_attempt_that_could_not_begin_is_handed_back_by_the_next_sweep(merchant, receiver, pool,
                                                                                 monkeypatch, read):
    # No worker: this pool alone relays and attempts. PostgreSQL "goes away" as the attempt
    # begins (its lease renewal, or the reading of teams the refusal of private addresses
    # needs, fails): nothing is sent, and the delivery stays leased to the pool, which hands
    # it back at its next sweep rather than when the lease runs out. (The teams' reading
    # once failed inside the client's request, counted as maybe sent: PostgreSQL killed
    # under load left 18 deliveries leased for a minute and a half.)
    await endpoint(merchant, receiver, events=["payout.created"])
    await merchant.post("/payouts", payout_body())

    async def gone(*args):
        raise ConnectionError("PostgreSQL went away")

    if read == "the lease's renewal":
        monkeypatch.setattr(deliveries, "keep_lease", gone)
    else:  # a stale reading, in a sandbox whose refusal depends on teams
        monkeypatch.setenv("SANDBOX_WEBHOOK_BLOCK_PRIVATE", "teams")
        monkeypatch.setattr(target_policy, "_teams_read_at", float("-inf"))
        monkeypatch.setattr(target_policy, "_read_teams", gone)
    await wait_for(lambda: relay.run(pool), what="the relay to take the event")
    await wait_for(lambda: asyncio.sleep(0, pool.dropped), what="the attempt that could not begin")
    leased = await db.fetchval("SELECT lease_until FROM webhook_delivery WHERE id = $1", pool.dropped[0].delivery_id)
    assert leased is not None and receiver.received == []
    monkeypatch.undo()
    await sweeper.sweep(pool)
    await arrivals(receiver, 1, timeout=30)  # well within the lease's minute and a half


async def test_deliveries_the_pool_had_no_room_for_and_could_not_hand_back_go_out_at_the_next_sweep(
        merchant, receiver, pool, monkeypatch):
    # The pool is full when the relay's deliveries come; handing them back fails (PostgreSQL
    # killed at that moment): they stay leased to the pool, which hands them back at its
    # next sweep rather than when their lease runs out.
    await endpoint(merchant, receiver, events=["payout.created"])
    await merchant.post("/payouts", payout_body())
    monkeypatch.setattr(pool, "room", lambda: 1)  # fan_out leases one, then the pool is full
    monkeypatch.setattr(pool, "merchant_room", lambda merchant: 1)

    async def gone(targets, due):
        raise ConnectionError("PostgreSQL went away")

    monkeypatch.setattr(deliveries, "postpone", gone)
    real_take = pool.take

    async def full(targets):
        monkeypatch.setattr(pool, "room", lambda: 0)
        return await real_take(targets)

    monkeypatch.setattr(pool, "take", full)
    with pytest.raises(ConnectionError):
        await wait_for(lambda: relay.run(pool), what="the relay to take the event")
    assert len(pool.dropped) == 1 and receiver.received == []
    leased = await db.fetchval("SELECT lease_until FROM webhook_delivery WHERE id = $1", pool.dropped[0].delivery_id)
    assert leased is not None
    monkeypatch.undo()
    await sweeper.sweep(pool)
    await arrivals(receiver, 1, timeout=30)  # well within the lease's minute and a half
