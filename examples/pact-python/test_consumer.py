"""The consumer's side with pact-python: what this payout console expects of MyPay, each
test recording one interaction on Pact's mock server and merging it into
pacts/payout-console-python-MyPay.json (a V4 pact; PACT_DIR writes it elsewhere).

Run: python -m pytest (pytest and pact-python installed: pip install 'mypay-sandbox[pact]'
pytest httpx). Then verify the pact against a running sandbox: run.sh."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pact import Pact, generate, match
from pact.match.matcher import GenericMatcher

PACT_DIR = Path(os.environ.get("PACT_DIR") or Path(__file__).parent / "pacts")
KEY = "sk_test_example"  # the consumer's example; the verifier injects the state's own


def injected(expression: str, example: str) -> GenericMatcher:
    """A value the verifier takes from the provider state's answer (`${apiKey}`)."""
    return GenericMatcher("type", value=example, generator=generate.provider_state(expression))


def payout(**extra) -> dict:
    return {"amount": "1500.00", "currency": "PKR", "destination": {
        "type": "bank", "bank_code": "HBL", "account_number": "12345678900001", "account_title": "Ali Raza"}, **extra}


@pytest.fixture
def pact() -> Iterator[Pact]:
    pact = Pact("payout-console-python", "MyPay").with_specification("V4")
    yield pact
    pact.write_file(PACT_DIR)  # merged with the other tests' interactions


def test_a_new_payout(pact: Pact) -> None:
    (pact.upon_receiving("a new payout").given("a merchant")
     .with_request("POST", "/api/v1/payouts")
     .with_headers({"X-API-KEY": injected("${apiKey}", KEY), "X-Idempotency-Key": "order-42"})
     .with_body(payout(), content_type="application/json")
     .will_respond_with(201)
     .with_body({"id": match.str("po_123"), "status": match.str("pending"), "amount": "1500.00"},
                content_type="application/json"))
    with pact.serve() as server:
        r = httpx.post(f"{server.url}/api/v1/payouts", json=payout(),
                       headers={"X-API-KEY": KEY, "X-Idempotency-Key": "order-42"})
    assert r.status_code == 201


def test_a_failed_payout(pact: Pact) -> None:
    (pact.upon_receiving("a failed payout").given("a payout", scenario="failed_account_closed", status="failed")
     .with_request("GET", injected("/api/v1/payouts/${payoutId}", "/api/v1/payouts/po_123"))
     .with_header("X-API-KEY", injected("${apiKey}", KEY))
     .will_respond_with(200)
     .with_body({"id": match.str("po_123"), "status": "failed", "failure_code": "account_closed"},
                content_type="application/json"))
    with pact.serve() as server:
        r = httpx.get(f"{server.url}/api/v1/payouts/po_123", headers={"X-API-KEY": KEY})
    assert r.json()["failure_code"] == "account_closed"


def test_an_unknown_field_is_a_400_problem(pact: Pact) -> None:
    (pact.upon_receiving("a payout with an unknown field").given("a merchant")
     .with_request("POST", "/api/v1/payouts")
     .with_headers({"X-API-KEY": injected("${apiKey}", KEY), "X-Idempotency-Key": "order-43"})
     .with_body(payout(colour="red"), content_type="application/json")
     .will_respond_with(400)
     .with_body({"status": 400, "code": "validation_error"}, content_type="application/problem+json"))
    with pact.serve() as server:
        r = httpx.post(f"{server.url}/api/v1/payouts", json=payout(colour="red"),
                       headers={"X-API-KEY": KEY, "X-Idempotency-Key": "order-43"})
    assert r.status_code == 400


def test_the_payout_failed_webhook(pact: Pact) -> None:
    (pact.upon_receiving("a payout.failed webhook", "Async")
     .given("a payout", scenario="failed_account_closed")
     .with_body({"id": match.str("evt_123"), "type": "payout.failed",
                 "data": {"id": match.str("po_123"), "status": "failed", "failure_code": "account_closed"}},
                content_type="application/json"))
    handled = []
    # The console's webhook handler would take the body from here, as the sandbox sends it.
    pact.verify(lambda body, metadata: handled.append(json.loads(body)), "Async")
    assert handled and handled[0]["data"]["failure_code"] == "account_closed"
