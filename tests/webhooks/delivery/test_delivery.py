"""A merchant registers a local receiver, makes a payout of every scenario, and gets
each event exactly once, signed, verifiable with the standardwebhooks package (HMAC) or
with cryptography (Ed25519)."""

import json
from collections import Counter

import pytest

from tests.helpers import payout_body, wait_for
from tests.webhooks.helpers import arrivals, bodies, endpoint, events_of, expected_types, payout_in
from tests.webhooks.verify import verify

FINAL_STATUS = {"0001": "success", "0002": "success", "0003": "failed", "0004": "success", "0005": "success",
                "0006": "returned", "0007": "failed", "review": "success", "cancel": "cancelled"}


async def _with_psp(api, payout_id):
    p = (await api.get(f"/payouts/{payout_id}")).json()
    return p if p["psp_reference"] else None


async def run_every_scenario(merchant, admin) -> list[dict]:
    """One payout per scenario row, driven to its end; returns the final payouts."""
    made = {}
    for suffix in ("0001", "0002", "0003", "0004", "0005", "0006", "0007"):
        r = await merchant.post("/payouts", payout_body(account="1234567890" + suffix))
        assert r.status_code == 201, r.text
        made[suffix] = r.json()
    review = await merchant.post("/payouts", payout_body(amount="150000.00"))
    cancelled = await merchant.post("/payouts", payout_body(amount="10.00", account="99999999990005"))
    made["review"], made["cancel"] = review.json(), cancelled.json()

    await payout_in(merchant, made["cancel"]["id"], {"on_hold"})
    assert (await merchant.post(f"/payouts/{made['cancel']['id']}/cancel", {})).status_code == 200
    assert (await admin.post(f"/admin/payouts/{made['review']['id']}/approve", {})).status_code == 200
    await wait_for(lambda: _with_psp(merchant, made["0004"]["id"]), what="0004 submitted")
    r = await merchant.post(f"/sandbox/payouts/{made['0004']['id']}/simulate", {"status": "success"})
    assert r.status_code == 202, r.text
    await payout_in(merchant, made["0005"]["id"], {"on_hold"})
    assert (await admin.post(f"/admin/payouts/{made['0005']['id']}/release", {})).status_code == 200
    return [await payout_in(merchant, p["id"], {FINAL_STATUS[key]}) for key, p in made.items()]


@pytest.mark.parametrize("signing", ["hmac-sha256", "ed25519"])
async def test_every_scenario_arrives_once_signed(each_client, merchant, admin, worker, receiver, signing):
    ep = await endpoint(merchant, receiver, events=["payout.*"], signing=signing)
    assert (ep["secret"] or "").startswith("whsec_") if signing == "hmac-sha256" else ep["public_key"].startswith(
        "whpk_")
    payouts = await run_every_scenario(merchant, admin)
    assert {p["status"] for p in payouts} == {"success", "failed", "returned", "cancelled"}
    expected = {p["id"]: expected_types(p) for p in payouts}
    total = sum(len(types) for types in expected.values())
    await arrivals(receiver, total)

    verified = [verify(ep, got) for got in receiver.received]
    assert len(receiver.received) == total
    assert len(set(receiver.ids())) == total, "an event arrived twice"
    by_payout: dict[str, list[str]] = {}
    for got, body in zip(receiver.received, verified, strict=True):
        assert set(body) == {"id", "type", "timestamp", "sequence", "data", "request"}
        assert body["id"] == got.webhook_id and got.path == "/hook"
        assert got.headers["content-type"] == "application/json"
        assert body["type"] == "payout.created" or body["type"] == f"payout.{body['data']['status']}"
        by_payout.setdefault(body["data"]["id"], []).append(body["type"])
    for payout_id, types in expected.items():
        assert Counter(by_payout[payout_id]) == Counter(types), payout_id
        logged = await events_of(merchant, payout_id)
        assert [e["type"] for e in logged] == types
        assert {e["id"] for e in logged} <= set(receiver.ids())


async def test_body_is_the_event_and_the_id_is_stable(merchant, worker, receiver):
    ep = await endpoint(merchant, receiver)
    p = (await merchant.post("/payouts", payout_body(account="12345678900003"))).json()
    done = await payout_in(merchant, p["id"], {"failed"})
    await arrivals(receiver, 3)
    logged = await events_of(merchant, p["id"])
    for event, got in zip(logged, sorted(receiver.received, key=lambda g: json.loads(g.body)["sequence"]),
                          strict=True):
        body = verify(ep, got)
        one = (await merchant.get(f"/events/{event['id']}")).json()
        assert one == event
        assert body == {"id": event["id"], "type": event["type"], "timestamp": event["created_at"],
                        "sequence": event["sequence"], "data": event["data"], "request": event["request"]}
    assert logged[-1]["data"] == done
    assert logged[-1]["data"]["failure_code"] == "account_closed"


async def test_event_filters(merchant, worker, receiver):
    only_success = await endpoint(merchant, receiver, path="/success", events=["payout.success"])
    everything = await endpoint(merchant, receiver, path="/all", events=["*"])
    assert everything["events"] == ["*"] and only_success["events"] == ["payout.success"]
    p = (await merchant.post("/payouts", payout_body())).json()
    await payout_in(merchant, p["id"], {"success"})
    await arrivals(receiver, 4)
    paths = Counter((got.path, json.loads(got.body)["type"]) for got in receiver.received)
    assert paths == Counter({("/success", "payout.success"): 1, ("/all", "payout.created"): 1,
                             ("/all", "payout.processing"): 1, ("/all", "payout.success"): 1})


async def test_events_before_the_endpoint_existed_are_not_sent(merchant, worker, receiver):
    p = (await merchant.post("/payouts", payout_body())).json()
    await payout_in(merchant, p["id"], {"success"})
    await wait_for(lambda: _relayed(merchant, p["id"]), what="events relayed")
    await endpoint(merchant, receiver)
    q = (await merchant.post("/payouts", payout_body())).json()
    await payout_in(merchant, q["id"], {"success"})
    await arrivals(receiver, 3)
    assert {b["data"]["id"] for b in bodies(receiver)} == {q["id"]}


async def _relayed(api, payout_id):
    events = await events_of(api, payout_id)
    return len(events) == 3


async def test_event_log_filters_and_pages(merchant, other_merchant, worker):
    ids = []
    for _ in range(3):
        ids.append((await merchant.post("/payouts", payout_body(account="12345678900003"))).json()["id"])
    for payout_id in ids:
        await payout_in(merchant, payout_id, {"failed"})
    r = await merchant.get("/events", params={"type": "payout.failed"})
    assert r.status_code == 200 and {e["payout_id"] for e in r.json()["data"]} == set(ids)
    assert all(e["type"] == "payout.failed" for e in r.json()["data"])
    family = (await merchant.get("/events", params={"type": "payout.*", "limit": 100})).json()["data"]
    assert len(family) == 9
    seen, cursor = [], None
    while True:
        page = (await merchant.get("/events", params={"limit": 2, **({"cursor": cursor} if cursor else {})})).json()
        seen += [e["id"] for e in page["data"]]
        if not page["has_more"]:
            break
        cursor = page["next_cursor"]
    assert seen == [e["id"] for e in family]
    assert (await other_merchant.get("/events")).json()["data"] == []
    bad = await merchant.get("/events", params={"type": "payout.%"})
    assert bad.status_code == 400 and bad.json()["code"] == "validation_error"
    assert (await merchant.get("/events", params={"cursor": "nonsense"})).status_code == 400


async def test_a_cookie_a_receiver_sets_is_never_sent_back(each_client, merchant, other_merchant, worker,
                                                           receiver):
    """Webhook requests carry no cookies: one set by a receiver is neither sent to the next
    delivery nor to another merchant's endpoint on the same host."""
    receiver.responder = lambda got: (200, {"set-cookie": f"session={got.webhook_id}; Path=/"}, b"ok")
    await endpoint(merchant, receiver, path="/first")
    await endpoint(other_merchant, receiver, path="/second")
    for m in (merchant, other_merchant, merchant):
        p = (await m.post("/payouts", payout_body())).json()
        await payout_in(m, p["id"], {"success"})
    await arrivals(receiver, 9)
    assert all("cookie" not in got.headers for got in receiver.received), \
        [got.headers.get("cookie") for got in receiver.received]
