"""A consumer's side, as a merchant's test suite records it with pact-python: its
expectations of MyPay's API and of the payout.failed webhook, written to a pact file.
`wrong=True` records the mistakes verification must catch: 200 where the API answers
201, and a webhook field the sandbox never sends."""

from __future__ import annotations

from pathlib import Path

import httpx
from pact import Pact, generate, match
from pact.match.matcher import GenericMatcher

CONSUMER, PROVIDER = "payout-console", "MyPay"


def injected(expression: str, example: str) -> GenericMatcher:
    """A value the verifier takes from the provider state's answer (`${apiKey}`)."""
    return GenericMatcher("type", value=example, generator=generate.provider_state(expression))


def payout_body(**extra) -> dict:
    return {"amount": "1500.00", "currency": "PKR", "destination": {
        "type": "bank", "bank_code": "HBL", "account_number": "12345678900001", "account_title": "Ali Raza"}, **extra}


def write_pacts(folder: Path, *, wrong: bool = False) -> Path:
    api = Pact(CONSUMER, PROVIDER).with_specification("V4")
    key = {"X-API-KEY": injected("${apiKey}", "sk_test_example")}
    (api.upon_receiving("a new payout").given("a merchant")
     .with_request("POST", "/api/v1/payouts").with_headers({**key, "X-Idempotency-Key": "order-42"})
     .with_body(payout_body(), content_type="application/json")
     .will_respond_with(200 if wrong else 201)
     .with_body({"id": match.str("po_123"), "status": match.str("pending"), "amount": "1500.00"},
                content_type="application/json"))
    (api.upon_receiving("a failed payout").given("a payout", scenario="failed_account_closed", status="failed")
     .with_request("GET", injected("/api/v1/payouts/${payoutId}", "/api/v1/payouts/po_123")).with_headers(key)
     .will_respond_with(200)
     .with_body({"id": match.str("po_123"), "status": "failed", "failure_code": "account_closed"},
                content_type="application/json"))
    (api.upon_receiving("a payout with an unknown field").given("a merchant")
     .with_request("POST", "/api/v1/payouts").with_headers({**key, "X-Idempotency-Key": "order-43"})
     .with_body(payout_body(colour="red"), content_type="application/json")
     .will_respond_with(400)
     .with_body({"status": 400, "code": "validation_error"}, content_type="application/problem+json"))
    with api.serve() as server:
        with httpx.Client(base_url=str(server.url)) as client:
            client.post("/api/v1/payouts", json=payout_body(),
                        headers={"X-API-KEY": "sk_test_example", "X-Idempotency-Key": "order-42"})
            client.get("/api/v1/payouts/po_123", headers={"X-API-KEY": "sk_test_example"})
            client.post("/api/v1/payouts", json=payout_body(colour="red"),
                        headers={"X-API-KEY": "sk_test_example", "X-Idempotency-Key": "order-43"})
    api.write_file(folder, overwrite=True)

    webhooks = Pact(CONSUMER, PROVIDER).with_specification("V4")
    data = {"id": match.str("po_123"), "status": "failed", "failure_code": "account_closed"}
    if wrong:
        data["failure_reason"] = match.str("closed")
    (webhooks.upon_receiving("a payout.failed webhook", "Async")
     .given("a payout", scenario="failed_account_closed")
     .with_body({"id": match.str("evt_1"), "type": "payout.failed", "data": data}, content_type="application/json"))
    webhooks.verify(lambda body, metadata: None, "Async")
    webhooks.write_file(folder, overwrite=False)
    return folder / f"{CONSUMER}-{PROVIDER}.json"
