"""Failures and retries against a real receiver: every attempt is stored, the webhook-id
never changes, 410 disables, Retry-After is honoured, redirects are not followed, and a
delivery that runs out of attempts is marked failed — and can be resent."""

import time
from collections import Counter

from tests.helpers import payout_body, wait_for
from tests.webhooks.helpers import arrivals, deliveries, delivery_settled, endpoint, events_of
from tests.webhooks.verify import verify


async def first_event(api, payout_id: str) -> dict:
    async def check():
        events = await events_of(api, payout_id)
        return events[0] if events else None
    return await wait_for(check, what="the payout.created event")


async def test_failures_are_retried_with_the_same_id(each_client, quick_retries, merchant, worker, receiver):
    calls = Counter()

    def flaky(got):
        calls[got.webhook_id] += 1
        return (500, {}, b"x" * 5000) if calls[got.webhook_id] <= 2 else (200, {}, b"thanks")

    receiver.responder = flaky
    ep = await endpoint(merchant, receiver, events=["payout.created"])
    p = (await merchant.post("/payouts", payout_body())).json()
    event = await first_event(merchant, p["id"])
    done = await delivery_settled(merchant, event["id"], "succeeded")
    assert done["attempt_count"] == 3 and done["last_status_code"] == 200 and done["resend"] is False
    assert done["endpoint_id"] == ep["id"] and done["url"] == receiver.url()
    codes = [a["status_code"] for a in done["attempts"]]
    assert codes == [500, 500, 200] and [a["number"] for a in done["attempts"]] == [1, 2, 3]
    for a in done["attempts"][:2]:
        assert a["error"] == "HTTP 500" and a["response_excerpt"] == "x" * 500
        assert a["next_retry_at"] is not None and a["latency_ms"] >= 0
    assert done["attempts"][2]["next_retry_at"] is None and done["attempts"][2]["response_excerpt"] == "thanks"
    assert receiver.ids() == [event["id"]] * 3
    for got in receiver.received:
        assert verify(ep, got)["id"] == event["id"]


async def test_receiver_down_then_up_nothing_is_lost(each_client, quick_retries, merchant, worker, receiver):
    ep = await endpoint(merchant, receiver, events=["payout.created"])
    await receiver.stop()
    ids = [(await merchant.post("/payouts", payout_body())).json()["id"] for _ in range(3)]
    events = [await first_event(merchant, i) for i in ids]
    failed = [await delivery_settled(merchant, e["id"], "failed") for e in events]
    for d in failed:
        assert d["attempt_count"] == 8 and d["next_attempt_at"] is None and d["completed_at"]
        assert all(a["status_code"] is None and "ConnectError" in a["error"] for a in d["attempts"])
        assert [a["next_retry_at"] is None for a in d["attempts"]] == [False] * 7 + [True]
    assert receiver.received == []

    await receiver.start()
    for e in events:
        r = await merchant.post(f"/events/{e['id']}/resend", {})
        assert r.status_code == 202, r.text
        made = r.json()["deliveries"]
        assert len(made) == 1 and made[0]["resend"] is True and made[0]["status"] == "pending"
    await arrivals(receiver, 3)
    assert sorted(receiver.ids()) == sorted(e["id"] for e in events)
    for got in receiver.received:
        verify(ep, got)
    for e in events:
        both = await wait_for(lambda e=e: _both_settled(merchant, e["id"]), what="resend to succeed")
        assert [d["status"] for d in both] == ["failed", "succeeded"]


async def _both_settled(api, event_id):
    found = await deliveries(api, event_id)
    return found if len(found) == 2 and found[1]["status"] == "succeeded" else None


async def test_503_retry_after_is_honoured(merchant, worker, receiver):
    seen = Counter()

    def busy_once(got):
        seen[got.webhook_id] += 1
        return (503, {"Retry-After": "1"}, b"busy") if seen[got.webhook_id] == 1 else (200, {}, b"")

    receiver.responder = busy_once
    await endpoint(merchant, receiver, events=["payout.created"])
    p = (await merchant.post("/payouts", payout_body())).json()
    event = await first_event(merchant, p["id"])
    done = await delivery_settled(merchant, event["id"], "succeeded")
    first, second = done["attempts"]
    assert first["status_code"] == 503 and first["error"] == "HTTP 503"
    assert _seconds(first["at"], first["next_retry_at"]) >= 1.0
    assert second["status_code"] == 200 and second["response_excerpt"] is None
    assert receiver.received[1].arrived - receiver.received[0].arrived >= 0.9


def _seconds(a: str, b: str) -> float:
    from datetime import datetime

    return (datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds()


async def test_410_disables_the_endpoint(merchant, worker, receiver):
    receiver.responder = lambda got: (410, {}, b"gone") if got.path == "/gone" else (200, {}, b"")
    gone = await endpoint(merchant, receiver, path="/gone", events=["payout.created"])
    await endpoint(merchant, receiver, path="/fine", events=["payout.created"])
    p = (await merchant.post("/payouts", payout_body())).json()
    event = await first_event(merchant, p["id"])
    found = await wait_for(lambda: _all_settled(merchant, event["id"], 2), what="both deliveries")
    to_gone = next(d for d in found if d["endpoint_id"] == gone["id"])
    assert to_gone["status"] == "failed" and to_gone["attempt_count"] == 1
    assert to_gone["last_error"] == "HTTP 410 Gone: the endpoint is disabled"
    now = (await merchant.get(f"/webhook-endpoints/{gone['id']}")).json()
    assert now["status"] == "disabled" and "410" in now["disabled_reason"]

    q = (await merchant.post("/payouts", payout_body())).json()
    await arrivals(receiver, 3)  # /gone once, /fine for both payouts
    assert Counter(g.path for g in receiver.received) == Counter({"/gone": 1, "/fine": 2})
    r = await merchant.post(f"/events/{event['id']}/resend", {"endpoint_id": gone["id"]})
    assert r.status_code == 409 and r.json()["code"] == "invalid_state"

    receiver.responder = lambda got: (200, {}, b"")
    r = await merchant.http.patch(f"/webhook-endpoints/{gone['id']}", json={"status": "enabled"},
                                  headers={"X-Idempotency-Key": "again"})
    assert r.status_code == 200 and r.json()["status"] == "enabled"
    q_event = await first_event(merchant, q["id"])
    r = await merchant.post(f"/events/{q_event['id']}/resend", {"endpoint_id": gone["id"]})
    assert r.status_code == 202, r.text
    await arrivals(receiver, 4)
    assert receiver.received[-1].path == "/gone" and receiver.received[-1].webhook_id == q_event["id"]


async def _all_settled(api, event_id, count):
    found = await deliveries(api, event_id)
    return found if len(found) == count and all(d["status"] != "pending" for d in found) else None


async def test_redirects_are_not_followed(each_client, quick_retries, merchant, worker, receiver):
    receiver.responder = lambda got: (302, {"Location": "/elsewhere"}, b"") if got.path == "/hook" else (200, {}, b"")
    await endpoint(merchant, receiver, events=["payout.created"])
    p = (await merchant.post("/payouts", payout_body())).json()
    event = await first_event(merchant, p["id"])
    done = await delivery_settled(merchant, event["id"], "failed")
    assert done["attempt_count"] == 8 and {a["status_code"] for a in done["attempts"]} == {302}
    assert done["last_error"] == "HTTP 302: redirects are not followed (to /elsewhere)"
    assert {g.path for g in receiver.received} == {"/hook"}


async def test_resend_needs_a_subscribed_enabled_endpoint(merchant, worker, receiver):
    await endpoint(merchant, receiver, events=["payout.success"])
    p = (await merchant.post("/payouts", payout_body())).json()
    event = await first_event(merchant, p["id"])
    r = await merchant.post(f"/events/{event['id']}/resend", {})
    assert r.status_code == 409 and r.json()["code"] == "invalid_state"
    r = await merchant.post(f"/events/{event['id']}/resend", {"endpoint_id": "bad id!"})
    assert r.status_code == 400 and r.json()["code"] == "validation_error"


async def test_a_receiver_down_for_half_a_second_still_gets_the_event(merchant, worker, receiver):
    """At time scale 0 the schedule shrinks to nothing; the retry floor (1 s by default)
    keeps the attempts spread over seconds, so a receiver restarting for a moment is not
    skipped (all eight attempts once went out within milliseconds)."""
    down_until: list[float] = []

    def restarting(got):
        now = time.monotonic()
        if not down_until:
            down_until.append(now + 0.5)
        return (500, {}, b"restarting") if now < down_until[0] else (200, {}, b"ok")

    receiver.responder = restarting
    await endpoint(merchant, receiver, events=["payout.created"])
    p = (await merchant.post("/payouts", payout_body())).json()
    event = await first_event(merchant, p["id"])
    done = await delivery_settled(merchant, event["id"])
    assert done["status"] == "succeeded", [(a["number"], a["at"], a["status_code"]) for a in done["attempts"]]
    assert done["attempt_count"] == 2 and [a["status_code"] for a in done["attempts"]] == [500, 200]


async def test_a_resend_on_a_manual_clock_an_hour_ahead_is_delivered_at_once(stack, worker, receiver):
    """Deliveries run on real time: a resend made while the merchant's manual clock stands an
    hour ahead is attempted now (it was once due at the clock's time, an hour of real time away)."""
    from tests.clocks.test_clocks import manual_merchant

    clocked = await manual_merchant(stack)
    try:
        await endpoint(clocked, receiver, events=["payout.created"])
        p = (await clocked.post("/payouts", payout_body())).json()
        event = await first_event(clocked, p["id"])
        await delivery_settled(clocked, event["id"], "succeeded")
        r = await clocked.post("/sandbox/clock/advance", {"seconds": 3600})
        assert r.status_code == 200, r.text
        r = await clocked.post(f"/events/{event['id']}/resend", {})
        assert r.status_code == 202, r.text
        await arrivals(receiver, 2, "the first delivery and the resend", timeout=60)
    finally:
        await clocked.aclose()
