"""Every event names its cause: `request: {"id", "idempotency_key"}` when an API request
made it (GET /events, GET /events/{id} and the webhook body alike), null when the worker
or the rail's callback did. A payout created in review announces `payout.in_review`."""

from __future__ import annotations

import json

from tests.helpers import payout_body, wait_for
from tests.webhooks.helpers import arrivals, endpoint, events_of, payout_in


def _cause(request_id: str, key: str) -> dict:
    return {"id": request_id, "idempotency_key": key}


async def test_api_request_and_worker_causes(merchant, worker, receiver):
    await endpoint(merchant, receiver, events=["payout.*"])
    r = await merchant.post("/payouts", payout_body(), idem="create-key-1", headers={"X-Request-ID": "req-create-1"})
    assert r.status_code == 201, r.text
    payout = await payout_in(merchant, r.json()["id"], {"success"})

    logged = await events_of(merchant, payout["id"])
    assert [(e["type"], e["request"]) for e in logged] == [
        ("payout.created", _cause("req-create-1", "create-key-1")),
        ("payout.processing", None),  # the worker's scenario steps
        ("payout.success", None),
    ]
    one = (await merchant.get(f"/events/{logged[0]['id']}")).json()
    assert one["request"] == _cause("req-create-1", "create-key-1")

    await arrivals(receiver, 3)
    sent = {b["type"]: b["request"] for b in (json.loads(got.body) for got in receiver.received)}
    assert sent == {"payout.created": _cause("req-create-1", "create-key-1"), "payout.processing": None,
                    "payout.success": None}


async def test_a_replay_writes_no_second_event(merchant):
    body = payout_body()
    first = await merchant.post("/payouts", body, idem="same-key", headers={"X-Request-ID": "req-first"})
    again = await merchant.post("/payouts", body, idem="same-key", headers={"X-Request-ID": "req-again"})
    assert again.headers["idempotent-replayed"] == "true" and again.json() == first.json()
    logged = await events_of(merchant, first.json()["id"])
    assert [e["request"] for e in logged] == [_cause("req-first", "same-key")]


async def test_cancel_and_admin_decisions_name_their_request(merchant, admin):
    big = payout_body(amount="150000.00")
    cancelled = (await merchant.post("/payouts", big)).json()
    r = await merchant.post(f"/payouts/{cancelled['id']}/cancel", {}, idem="cancel-key",
                            headers={"X-Request-ID": "req-cancel"})
    assert r.status_code == 200, r.text
    rejected = (await merchant.post("/payouts", big)).json()
    r = await admin.post(f"/admin/payouts/{rejected['id']}/reject", {}, idem="reject-key",
                         headers={"X-Request-ID": "req-reject"})
    assert r.status_code == 200, r.text

    assert [(e["type"], e["request"]) for e in (await events_of(merchant, cancelled["id"]))[2:]] == [
        ("payout.cancelled", _cause("req-cancel", "cancel-key"))]
    assert [(e["type"], e["request"]) for e in (await events_of(merchant, rejected["id"]))[2:]] == [
        ("payout.rejected", _cause("req-reject", "reject-key"))]


async def test_the_rails_callback_is_no_request(merchant, worker):
    p = (await merchant.post("/payouts", payout_body(account="12345678900004"))).json()

    async def submitted():
        return (await merchant.get(f"/payouts/{p['id']}")).json()["psp_reference"]

    await wait_for(submitted, 30, what="the rail to take the payout")
    r = await merchant.post(f"/sandbox/payouts/{p['id']}/simulate", {"status": "failed"})
    assert r.status_code == 202, r.text
    await payout_in(merchant, p["id"], {"failed"})
    last = (await events_of(merchant, p["id"]))[-1]
    # The simulate request only asks the rail; the rail's signed IPN callback moves the payout.
    assert last["type"] == "payout.failed" and last["request"] is None


async def test_events_filtered_by_payout(merchant):
    one = (await merchant.post("/payouts", payout_body())).json()
    two = (await merchant.post("/payouts", payout_body(amount="150000.00"))).json()
    r = await merchant.get("/events", params={"payout_id": two["id"]})
    assert r.status_code == 200, r.text
    assert [(e["type"], e["payout_id"]) for e in r.json()["data"]] == [
        ("payout.in_review", two["id"]), ("payout.created", two["id"])]  # newest first
    assert {e["payout_id"] for e in (await merchant.get("/events")).json()["data"]} == {one["id"], two["id"]}


async def test_in_review_is_delivered_to_its_subscriber(merchant, worker, receiver):
    await endpoint(merchant, receiver, events=["payout.in_review"])
    small = (await merchant.post("/payouts", payout_body())).json()
    big = (await merchant.post("/payouts", payout_body(amount="150000.00"), idem="big-key")).json()
    assert big["status"] == "in_review"
    await arrivals(receiver, 1)
    body = json.loads(receiver.received[0].body)
    assert body["type"] == "payout.in_review" and body["data"]["id"] == big["id"]
    assert body["data"]["status"] == "in_review" and body["request"]["idempotency_key"] == "big-key"
    await payout_in(merchant, small["id"], {"success"})  # its events were not for this endpoint
    assert len(receiver.received) == 1
