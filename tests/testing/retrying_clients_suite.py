"""An integrator's suite (run by test_safe_retries.py in a pytest subprocess): two small
payout clients written with httpx, each asked to pay once while the sandbox loses,
holds or replaces the answer after the payout is made."""

import uuid

import httpx
import pytest

KINDS = ["response_lost", "timeout", "error_after_commit"]


class CarelessClient:
    """Retries on a transport error or a 5xx, with a new idempotency key each time."""

    def __init__(self, url: str, key: str) -> None:
        self.http = httpx.Client(base_url=url, headers={"X-API-KEY": key}, timeout=1.0)

    def pay(self, body: dict) -> httpx.Response:
        for _ in range(3):
            try:
                response = self.http.post("/payouts", json=body, headers={"X-Idempotency-Key": str(uuid.uuid4())})
            except httpx.TransportError:
                continue
            if response.status_code < 500:
                return response
        raise AssertionError("gave up")


class CarefulClient(CarelessClient):
    """The same, but one idempotency key per payout, kept across its retries."""

    def pay(self, body: dict) -> httpx.Response:
        key = str(uuid.uuid4())
        for _ in range(3):
            try:
                response = self.http.post("/payouts", json=body, headers={"X-Idempotency-Key": key})
            except httpx.TransportError:
                continue
            if response.status_code < 500:
                return response
        raise AssertionError("gave up")


def body(mypay_merchant) -> dict:
    return {"amount": "2500.00", "currency": "PKR", "destination": {
        "type": "bank", "bank_code": "HBL", "account_number": mypay_merchant.account_number("success"),
        "account_title": "Ali Raza"}}


@pytest.mark.parametrize("kind", KINDS)
def test_careful(mypay_merchant, kind):
    mypay_merchant.fault(kind, path="/payouts", method="POST", delay_s=3)
    client = CarefulClient(mypay_merchant.sandbox.url + "/api/v1", mypay_merchant.key)
    paid = client.pay(body(mypay_merchant))
    assert paid.status_code == 201 and paid.headers["Idempotent-Replayed"] == "true"
    [case] = next(f for f in mypay_merchant.coverage()["faults"] if f["kind"] == kind)["cases"]
    assert case["verdict"] == "recovered" and case["payout_id"] == paid.json()["id"]
    assert [r["idempotency_outcome"] for r in mypay_merchant.requests(path="/api/v1/payouts")] == \
        ["replayed", "first"]


@pytest.mark.parametrize("kind", KINDS)
def test_careless(mypay_merchant, kind):
    mypay_merchant.fault(kind, path="/payouts", method="POST", delay_s=3)
    client = CarelessClient(mypay_merchant.sandbox.url + "/api/v1", mypay_merchant.key)
    paid = client.pay(body(mypay_merchant))
    assert paid.status_code == 201  # it looks fine to the client...
    print("PAID", kind, paid.json()["id"])


def test_a_failing_test_shows_its_requests(mypay_merchant):
    mypay_merchant.client.get("/balance")
    raise AssertionError("this test fails on purpose")
