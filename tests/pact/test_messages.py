"""POST /api/v1/sandbox/pact/messages: Pact's message-producer protocol. The message for
a webhook is the body the sandbox signs and sends for that event, made by a real walk,
with its webhook-* headers and content type as metadata."""

from __future__ import annotations

import base64
import json
import time
from datetime import datetime

import pytest

from sandbox.client.blocking import tls
from sandbox.payouts.model.scenarios import SCENARIO_NAMES
from tests.helpers import payout_body
from tests.pact.conftest import raw_post
from tests.webhooks.conftest import receiver  # noqa: F401  # a local receiver for the real delivery
from tests.webhooks.helpers import arrivals, endpoint

MESSAGES = "/api/v1/sandbox/pact/messages"
STATES = "/api/v1/sandbox/pact/states"
PAYOUT_EVENTS = ("payout.created", "payout.in_review", "payout.pending", "payout.processing", "payout.retrying",
                 "payout.on_hold", "payout.success", "payout.failed", "payout.rejected", "payout.cancelled",
                 "payout.returned")


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


async def refused(pact, description: str, *states: dict) -> dict:
    """A refusal: the problem, sent under a Content-Encoding it is not in, so that no
    client that decodes bodies (a Pact verifier) can take it for a message."""
    status, headers, problem = await raw_post(pact, MESSAGES, json={"description": description,
                                                                     "providerStates": list(states)})
    assert status == 400 and headers["content-encoding"] == "gzip", problem
    assert problem["status"] == 400
    return problem


@pytest.mark.parametrize(("description", "said"), [
    ("a refund webhook", "names no payout event"),
    ("a payout.exploded webhook", "names no payout event"),
    ("a batch.completed webhook", "only payout.* events can be message-pacted"),
    ("a settlement.completed webhook", "only payout.* events can be message-pacted"),
    # Two event types: a message is one webhook, so which one is never guessed.
    ("after payout.success, a payout.returned webhook", "names 2 event types (payout.success, payout.returned)"),
    ("a payout.failed or payout.failed webhook, not a batch.completed", "names 2 event types"),
])
async def test_a_message_the_sandbox_never_sends_is_refused(pact, description, said):
    problem = await refused(pact, description)
    assert said in problem["detail"] and problem["errors"][0]["field"] == "description"
    assert "payout.failed" in problem["detail"]  # the types it does send


async def test_a_scenario_that_never_sends_the_event(pact, database):
    from sandbox import db

    merchants = await db.fetchval("SELECT count(*) FROM merchant")
    problem = await refused(pact, "a payout.returned webhook",
                            {"name": "a payout", "params": {"scenario": "failed_account_closed"}})
    assert "never payout.returned" in problem["detail"] and "success_then_returned" in problem["detail"], problem
    assert await db.fetchval("SELECT count(*) FROM merchant") == merchants  # refused before anything was made


async def test_a_refused_key_is_no_message_either(stack):
    import httpx

    async with httpx.AsyncClient(verify=tls(), base_url=stack.base_url,
                                 headers={"X-Sandbox-Admin-Key": "sk_admin_wrong_key_0"}) as client:
        status, headers, problem = await raw_post(client, MESSAGES, json={"description": "a payout.created webhook"})
    assert (status, headers["content-encoding"], problem["code"]) == (401, "gzip", "unauthenticated")


async def test_a_payout_in_review_means_the_same_on_both_routes(pact):
    review = {"name": "a payout in review"}
    body, _ = await message(pact, "a payout.created webhook", review)
    assert (body["data"]["status"], body["data"]["amount"]) == ("in_review", "100000.00")
    body, _ = await message(pact, "a payout.in_review webhook", review)
    assert body["data"]["status"] == "in_review"
    problem = await refused(pact, "a payout.pending webhook", review)
    assert "only when an admin approves" in problem["detail"], problem
    low = {"name": "a payout in review", "params": {"amount": "500.00"}}
    problem = await refused(pact, "a payout.created webhook", low)
    states = await pact.post(STATES, json={"state": "a payout in review", "params": {"amount": "500.00"}})
    assert problem["errors"] == states.json()["errors"] == [
        {"field": "params.amount", "message": "below the review threshold (100000.00)"}]


async def test_a_pending_message_comes_from_an_approval(pact):
    body, _ = await message(pact, "a payout.pending webhook")
    assert (body["data"]["status"], body["data"]["amount"]) == ("pending", "100000.00")
    assert [h["status"] for h in body["data"]["status_history"]] == ["in_review", "pending"]


async def test_webhook_timestamp_is_a_real_deliverys(pact):
    """The header a delivery carries is the time it is sent (wall clock); the body's
    `timestamp` follows the merchant's manual clock, walked ahead by the scenario."""
    body, metadata = await message(pact, "a payout.returned webhook in success_then_returned")
    assert abs(int(metadata["webhook-timestamp"]) - time.time()) < 10, metadata
    assert datetime.fromisoformat(body["timestamp"]).timestamp() > time.time() + 10, body["timestamp"]


# Every state a message interaction may name, as the states route makes it: the message
# route must mean the same payout, defaults included.
STATE_SETS = [
    [{"name": "a payout"}],
    *([{"name": "a payout", "params": {"scenario": name}}] for name in SCENARIO_NAMES),
    [{"name": "a payout", "params": {"scenario": "failed_account_closed", "status": "processing"}}],
    [{"name": "a payout", "params": {"amount": "100000.00", "status": "pending"}}],
    [{"name": "a payout", "params": {"amount": "100000.00", "status": "in_review"}}],
    [{"name": "a payout in review"}],
    [{"name": "a payout in review", "params": {"amount": "250000.00"}}],
    [{"name": "a merchant"}],
    [{"name": "a webhook endpoint"}],
    [{"name": "a batch"}],
]


@pytest.mark.parametrize("provider_states", STATE_SETS, ids=lambda s: json.dumps(s, separators=(",", ":")))
async def test_every_state_and_event_through_both_routes(pact, database, provider_states):
    """The states route's payout has sent some events: the messages route answers each of
    them as that payout sent it (status, scenario, amount, sequence), and refuses the rest."""
    from sandbox import db

    sent: dict[str, dict] = {}
    for state in provider_states:
        r = await pact.post(STATES, json={"state": state["name"], "params": state.get("params", {})})
        assert r.status_code == 200, r.text
        if "payoutId" in r.json():
            rows = await db.fetch("SELECT type, data FROM outbox_event WHERE payout_id = $1 ORDER BY number",
                                  r.json()["payoutId"])
            sent = {row["type"]: json.loads(row["data"]) for row in rows}
    assert sent or provider_states[0]["name"] in ("a merchant", "a webhook endpoint", "a batch")
    for event in PAYOUT_EVENTS:
        if event in sent:
            body, _ = await message(pact, f"a {event} webhook", *provider_states)
            expected = sent[event]
            assert body["type"] == event
            assert {k: body["data"][k] for k in ("status", "scenario", "amount")} == \
                {k: expected[k] for k in ("status", "scenario", "amount")}, (event, body["data"])
        else:
            problem = await refused(pact, f"a {event} webhook", *provider_states)
            assert event in problem["detail"], problem


async def test_a_scenario_named_in_the_description_when_the_state_names_none(pact):
    body, _ = await message(pact, "a payout.returned webhook in success_then_returned", {"name": "a payout"})
    assert (body["data"]["scenario"], body["data"]["status"]) == ("success_then_returned", "returned")


async def test_two_provider_states_are_refused_for_any_verifier(pact):
    """The rule `sandbox pact verify` holds a pact to, on the route every verifier calls:
    two states would be two merchants, so which one's payout the message is of is never
    guessed (it once took the first)."""
    problem = await refused(pact, "a payout.failed webhook",
                            {"name": "a payout", "params": {"scenario": "failed_account_closed"}},
                            {"name": "a merchant"})
    assert "providerStates: 2 provider states; the rule: at most one provider state per interaction" in \
        problem["detail"], problem
