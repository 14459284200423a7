"""Batch and settlement events are first-class: an endpoint subscribes to them by type
or family, gets them signed like payout events, and the event log filters by them."""

import json

from sandbox.settlements import service as settlements
from tests.batches.helpers import HEADER, upload_csv, wait_completed
from tests.webhooks.helpers import arrivals, delivery_settled, endpoint
from tests.webhooks.verify import verify


async def test_batch_and_settlement_events_by_subscription(merchant, worker, receiver):
    batches = await endpoint(merchant, receiver, path="/batches", events=["batch.*"])
    settled = await endpoint(merchant, receiver, path="/settlements", events=["settlement.completed"])
    assert batches["events"] == ["batch.*"] and settled["events"] == ["settlement.completed"]

    r = await upload_csv(merchant, HEADER + "b-1,10.00,bank,HBL,,,12345678900001,Ali Raza,first\n")
    assert r.status_code == 202, r.text
    batch = await wait_completed(merchant, r.json()["id"])
    r = await merchant.post("/sandbox/collections", {"amount": "5.00", "outcome": "approve"})
    assert r.status_code == 201, r.text
    assert await settlements.run_due() >= 1

    got = await arrivals(receiver, 2)
    by_path = {x.path: x for x in got}
    assert set(by_path) == {"/batches", "/settlements"} and len(got) == 2  # no payout events: not subscribed
    batch_event = json.loads(by_path["/batches"].body)
    settlement_event = json.loads(by_path["/settlements"].body)
    assert batch_event["type"] == "batch.completed" and batch_event["data"]["id"] == batch["id"]
    assert settlement_event["type"] == "settlement.completed"
    # Each is its object's only event: the first and last of its sequence.
    assert batch_event["sequence"] == settlement_event["sequence"] == 1
    verify(batches, by_path["/batches"])
    verify(settled, by_path["/settlements"])

    for event_type, event in (("batch.completed", batch_event), ("settlement.completed", settlement_event)):
        r = await merchant.get("/events", params={"type": event_type})
        assert r.status_code == 200, r.text
        assert [(e["id"], e["sequence"]) for e in r.json()["data"]] == [(event["id"], 1)]
        assert (await delivery_settled(merchant, event["id"]))["status"] == "succeeded"
    r = await merchant.get("/events", params={"type": "batch.*"})
    assert [e["type"] for e in r.json()["data"]] == ["batch.completed"]
