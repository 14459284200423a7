"""Test clocks: a merchant on a manual clock sees its payouts move only when it advances
the clock, each step at its exact clock time; live-clock merchants are untouched."""

from __future__ import annotations

import asyncio
import secrets
from datetime import datetime, timedelta

import httpx
import pytest

from sandbox.client.blocking import tls
from tests.helpers import Api, payout_body, wait_for


async def manual_merchant(stack) -> Api:
    async with httpx.AsyncClient(verify=tls(), base_url=stack.base_url + "/api/v1") as c:
        r = await c.post("/sandbox/merchants", json={"name": "clocked", "opening_balance": "1000000.00",
                                                     "clock": "manual"},
                         headers={"X-API-KEY": stack.admin_key, "X-Idempotency-Key": secrets.token_hex(16)})
        assert r.status_code == 201, r.text
        assert r.json()["merchant"]["clock"] == "manual"
    return Api(stack.base_url, r.json()["api_key"])


@pytest.fixture
async def clocked(stack):
    api = await manual_merchant(stack)
    yield api
    await api.aclose()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def clock_time(api: Api) -> datetime:
    r = await api.get("/sandbox/clock")
    assert r.status_code == 200, r.text
    return at(r.json()["time"])


async def advance(api: Api, **body) -> dict:
    r = await api.post("/sandbox/clock/advance", body)
    assert r.status_code == 200, r.text
    return r.json()


async def scenario_steps(api: Api, name: str) -> list[dict]:
    table = (await api.get("/sandbox/scenarios")).json()
    return next(s for s in table["scenarios"] if s["name"] == name)


async def test_steps_wait_for_the_clock_and_land_at_their_exact_clock_times(stack, worker, clocked, merchant):
    start = await clock_time(clocked)
    held = (await clocked.post("/payouts", payout_body(account="12345678900002"))).json()
    assert at(held["created_at"]) == start
    # A live merchant's payout runs to its end through the worker meanwhile...
    live = (await merchant.post("/payouts", payout_body(account="12345678900001"))).json()

    async def live_paid():
        return (await merchant.get(f"/payouts/{live['id']}")).json()["status"] == "success"

    await wait_for(live_paid, what="the live merchant's payout to be paid")
    # ...while the manual clock's stays where it was created.
    assert (await clocked.get(f"/payouts/{held['id']}")).json()["status"] == "pending"
    steps = (await scenario_steps(clocked, "retry_then_success"))["steps"]
    clock = (await clocked.get("/sandbox/clock")).json()
    assert clock["kind"] == "manual" and at(clock["next_step_at"]) == start + timedelta(seconds=steps[0]["after_s"])

    first = await advance(clocked, seconds=steps[0]["after_s"])
    due = start + timedelta(seconds=steps[0]["after_s"])
    assert at(first["time"]) == due
    assert [(t["from"], t["to"], at(t["at"])) for t in first["transitions"]] == [("pending", "processing", due)]

    rest = await advance(clocked, until="idle")
    expected = []
    previous = "processing"
    for step in steps[1:]:
        due += timedelta(seconds=step["after_s"])
        expected.append((previous, step["status"], due))
        previous = step["status"]
    assert [(t["payout_id"], t["from"], t["to"], at(t["at"])) for t in rest["transitions"]] == [
        (held["id"], *e) for e in expected]
    assert rest["idle"] is True and at(rest["time"]) == due
    paid = (await clocked.get(f"/payouts/{held['id']}")).json()
    assert [(h["status"], at(h["at"])) for h in paid["status_history"]] == [
        ("pending", start), ("processing", start + timedelta(seconds=steps[0]["after_s"])),
        *[(to, when) for _, to, when in expected]]
    assert at(paid["updated_at"]) == due


async def test_admin_release_on_a_manual_clock_leaves_the_next_steps_to_the_advance(stack, clocked, admin):
    start = await clock_time(clocked)
    held = (await clocked.post("/payouts", payout_body(account="12345678900005"))).json()
    scenario = await scenario_steps(clocked, "on_hold")
    hold_at = start + timedelta(seconds=scenario["steps"][0]["after_s"])
    assert (await advance(clocked, until="idle"))["transitions"][0]["to"] == "on_hold"
    assert at((await clocked.get("/sandbox/clock")).json()["time"]) == hold_at  # idle: nothing is due on hold
    released = (await admin.post(f"/admin/payouts/{held['id']}/release", {})).json()
    # The clock stands still at hold_at: the release's move shows 1 ms after the hold's.
    assert released["status"] == "processing" and at(released["updated_at"]) == hold_at + timedelta(milliseconds=1)
    paid_at = hold_at + timedelta(seconds=scenario["after_release"][1]["after_s"])
    done = await advance(clocked, until="idle")
    assert [(t["to"], at(t["at"])) for t in done["transitions"]] == [("success", paid_at)]


async def test_a_rail_callback_due_on_the_clock_is_applied_by_the_advance(stack, clocked):
    start = await clock_time(clocked)
    paid = (await clocked.post("/payouts", payout_body(account="12345678900006"))).json()
    steps = (await scenario_steps(clocked, "success_then_returned"))["steps"]
    done = await advance(clocked, until="idle")
    returned_at = start + timedelta(seconds=sum(s["after_s"] for s in steps))
    assert [(t["to"], at(t["at"])) for t in done["transitions"]][-1] == ("returned", returned_at)
    assert (await clocked.get(f"/payouts/{paid['id']}")).json()["status"] == "returned"


async def test_clocks_are_per_merchant_and_advances_of_one_clock_queue_up(stack):
    one, other = await manual_merchant(stack), await manual_merchant(stack)
    try:
        one_start, other_start = await clock_time(one), await clock_time(other)
        await asyncio.gather(advance(one, seconds=5), advance(one, seconds=5))
        assert await clock_time(one) == one_start + timedelta(seconds=10)
        assert await clock_time(other) == other_start
    finally:
        await one.aclose()
        await other.aclose()


@pytest.mark.parametrize("body", [{"seconds": -1}, {"seconds": "soon"}, {"until": "later"}, {"hours": 1},
                                  {"seconds": 10 * 365 * 24 * 3600}])
async def test_a_bad_advance_is_refused_and_moves_nothing(clocked, body):
    before = await clock_time(clocked)
    r = await clocked.post("/sandbox/clock/advance", body)
    assert r.status_code == 400 and r.headers["content-type"].startswith("application/problem+json")
    assert await clock_time(clocked) == before


async def test_a_live_clock_cannot_be_advanced(merchant):
    r = await merchant.post("/sandbox/clock/advance", {"seconds": 1})
    assert r.status_code == 409 and r.headers["content-type"].startswith("application/problem+json")
    assert (await merchant.get("/sandbox/clock")).json()["kind"] == "live"


async def test_the_sweeper_leaves_manual_clock_payouts_alone(stack, database, clocked, merchant):
    from sandbox.payouts.store import repository

    held = (await clocked.post("/payouts", payout_body())).json()
    live = (await merchant.post("/payouts", payout_body())).json()
    overdue = {payout_id for payout_id, _, _ in await repository.overdue(datetime.now().astimezone()
                                                                         + timedelta(hours=1), 100_000)}
    assert live["id"] in overdue and held["id"] not in overdue


async def test_steps_of_several_payouts_apply_in_due_order_with_ledger_and_events_at_clock_time(stack, clocked):
    start = await clock_time(clocked)
    slow = (await clocked.post("/payouts", payout_body(account="12345678900007"))).json()  # rail_timeout
    fast = (await clocked.post("/payouts", payout_body(account="12345678900001"))).json()  # success
    done = await advance(clocked, until="idle")
    times = [at(t["at"]) for t in done["transitions"]]
    assert times == sorted(times) and {t["payout_id"] for t in done["transitions"]} == {slow["id"], fast["id"]}
    fast_moves = {t["to"]: at(t["at"]) for t in done["transitions"] if t["payout_id"] == fast["id"]}
    paid_at = fast_moves["success"]
    entries = (await clocked.get("/balance/history", params={"limit": 100})).json()["data"]
    assert {at(e["created_at"]) for e in entries if e["payout_id"] == fast["id"]} == {start, paid_at}
    events = (await clocked.get("/events", params={"limit": 100})).json()["data"]
    assert {(e["type"], at(e["created_at"])) for e in events if e["data"]["id"] == fast["id"]} == {
        ("payout.created", start), ("payout.processing", fast_moves["processing"]), ("payout.success", paid_at)}


async def test_until_idle_with_seconds_goes_no_further(stack, clocked):
    start = await clock_time(clocked)
    payout = (await clocked.post("/payouts", payout_body(account="12345678900002"))).json()
    steps = (await scenario_steps(clocked, "retry_then_success"))["steps"]
    first = steps[0]["after_s"]
    bounded = await advance(clocked, seconds=first + steps[1]["after_s"] - 0.5, until="idle")
    assert [(t["payout_id"], t["to"]) for t in bounded["transitions"]] == [(payout["id"], "processing")]
    assert at(bounded["time"]) == start + timedelta(seconds=first) and bounded["idle"] is False
    assert (await advance(clocked))["transitions"] == []  # no seconds: only what is due now
    assert await clock_time(clocked) == start + timedelta(seconds=first)


async def test_steps_an_advance_applies_name_no_request(clocked):
    """The payout's creation names the request that made it; the steps the clock made due
    are the sandbox's own doing, though a request advanced the clock."""
    payout = (await clocked.post("/payouts", payout_body(account="12345678900001"), idem="clock-cause-1")).json()
    await advance(clocked, until="idle")
    events = (await clocked.get("/events", params={"payout_id": payout["id"]})).json()["data"]
    by_type = {e["type"]: e["request"] for e in events}
    assert set(by_type) == {"payout.created", "payout.processing", "payout.success"}, by_type
    assert by_type["payout.created"]["idempotency_key"] == "clock-cause-1"
    assert by_type["payout.processing"] is None and by_type["payout.success"] is None
