"""POST /api/v1/sandbox/pact/messages: Pact's message-producer protocol. The message for
a webhook is the body the sandbox signs and sends for that event, made by a real walk,
with its webhook-* headers and content type as metadata."""

from __future__ import annotations

import base64
import json

import pytest

from tests.helpers import payout_body
from tests.webhooks.conftest import receiver  # noqa: F401  # a local receiver for the real delivery
from tests.webhooks.helpers import arrivals, endpoint

MESSAGES = "/api/v1/sandbox/pact/messages"


async def message(pact, description: str, *states: dict) -> tuple[dict, dict]:
    r = await pact.post(MESSAGES, json={"description": description, "providerStates": list(states)})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    return r.json(), json.loads(base64.b64decode(r.headers["Pact-Message-Metadata"]))


async def test_a_failed_payouts_webhook(pact):
    body, metadata = await message(pact, "a payout.failed webhook for a closed account",
                                   {"name": "a payout", "params": {"scenario": "failed_account_closed"}})
    assert body["type"] == "payout.failed"
    assert (body["data"]["status"], body["data"]["failure_code"]) == ("failed", "account_closed")
    assert metadata["webhook-id"] == body["id"] and metadata["webhook-signature"].startswith("v1,")
    assert metadata["contentType"] == "application/json" and metadata["webhook-timestamp"].isdigit()


@pytest.mark.parametrize(("description", "scenario", "status"), [
    ("a payout.created webhook", "success", "pending"),
    ("a payout.retrying webhook", "retry_then_success", "retrying"),
    ("a payout.returned webhook in success_then_returned", "success_then_returned", "returned"),
    ("a payout.in_review webhook", "success", "in_review"),
])
async def test_the_description_names_the_event(pact, description, scenario, status):
    body, _ = await message(pact, description)
    assert body["type"] == description.split()[1]
    assert (body["data"]["scenario"], body["data"]["status"]) == (scenario, status)


async def test_the_same_shape_as_a_real_delivery(pact, merchant, worker, receiver):  # noqa: F811
    """The message's body and headers are what a receiver gets for the same event."""
    await endpoint(merchant, receiver, events=["payout.failed"])
    assert (await merchant.post("/payouts", payout_body(account="12345678900003"))).status_code == 201
    delivered = (await arrivals(receiver, 1))[0]
    body, metadata = await message(pact, "a payout.failed webhook",
                                   {"name": "a payout", "params": {"scenario": "failed_account_closed"}})
    sent = json.loads(delivered.body)
    assert sorted(body) == sorted(sent) and sorted(body["data"]) == sorted(sent["data"])
    assert {k for k in metadata if k.startswith("webhook-")} == {k for k in delivered.headers
                                                                if k.startswith("webhook-")}


@pytest.mark.parametrize(("description", "said"), [
    ("a refund webhook", "names no payout event"),
    ("a payout.exploded webhook", "names no payout event"),
])
async def test_a_message_the_sandbox_never_sends_is_refused(pact, description, said):
    r = await pact.post(MESSAGES, json={"description": description, "providerStates": []})
    assert r.status_code == 400, r.text
    problem = r.json()
    assert said in problem["detail"] and problem["errors"][0]["field"] == "description"
    assert "payout.failed" in problem["detail"]  # the types it does send


async def test_a_scenario_that_never_sends_the_event(pact):
    r = await pact.post(MESSAGES, json={"description": "a payout.failed webhook", "providerStates": [
        {"name": "a payout", "params": {"scenario": "success"}}]})
    assert r.status_code == 400 and "params.status" in r.json()["detail"], r.text
