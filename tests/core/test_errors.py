"""Bad input gets a clear 4xx problem+json that names the field, and changes nothing."""

import pytest

from tests.helpers import payout_body

PROBLEM = "application/problem+json"


async def balance(api):
    return (await api.get("/balance")).json()


def assert_problem(r, status, code):
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["request_id"] == r.headers["x-request-id"]
    assert body["type"].endswith(code) and body["title"] and body["detail"]
    return body


async def test_malformed_json(merchant):
    before = await balance(merchant)
    r = await merchant.post("/payouts", content=b'{"amount": "1.00",', headers={"content-type": "application/json"})
    assert_problem(r, 400, "malformed_json")
    assert await balance(merchant) == before


@pytest.mark.parametrize(
    "body, field",
    [
        (payout_body(amount="1.001"), "amount"),
        (payout_body(amount="-5.00"), "amount"),
        (payout_body(amount="0"), "amount"),
        (payout_body(amount="1e3"), "amount"),
        (payout_body(amount=15), "amount"),
        (payout_body(amount="100000000.00"), "amount"),
        ({**payout_body(), "currency": "USD"}, "currency"),
        ({**payout_body(), "status": "success"}, "status"),
        ({**payout_body(), "destination": {"type": "bank", "bank_code": "XXX", "account_number": "12345678900001"}},
         "destination.bank_code"),
        ({**payout_body(), "destination": {"type": "bank", "bank_code": "HBL", "account_number": "123"}},
         "destination.account_number"),
        ({**payout_body(), "destination": {"type": "bank", "iban": "PK00HABB0000001123456702"}}, "destination.iban"),
        ({**payout_body(), "destination": {"type": "wallet", "wallet_code": "EASYPAISA", "account_number": "0400"}},
         "destination.account_number"),
        ({**payout_body(), "destination": {"type": "card"}}, "destination.type"),
        ({**payout_body(), "description": "a\x00b"}, "description"),
        ({**payout_body(), "metadata": {str(i): "v" for i in range(21)}}, "metadata"),
        ({**payout_body(), "reference": "x" * 65}, "reference"),
        ({k: v for k, v in payout_body().items() if k != "amount"}, "amount"),  # missing: named, not `body`
        ({**payout_body(), "destination": {"type": "wallet", "wallet_code": "EASYPAISA"}},
         "destination.account_number"),
        ({**payout_body(), "destination": {**payout_body()["destination"], "colour": "red"}}, "destination.colour"),
    ],
)
async def test_payout_validation(merchant, body, field):
    before = await balance(merchant)
    r = await merchant.post("/payouts", body)
    problem = assert_problem(r, 400, "validation_error")
    assert any(e["field"] == field or e["field"].startswith(field + "[") for e in problem["errors"]), problem
    assert await balance(merchant) == before
    assert (await merchant.get("/payouts")).json()["data"] == []


async def test_body_too_large(merchant):
    r = await merchant.post("/payouts", {**payout_body(), "description": "x" * 2_000_000})
    assert_problem(r, 413, "payload_too_large")


async def test_missing_idempotency_key(merchant):
    r = await merchant.http.post("/payouts", json=payout_body())
    assert_problem(r, 400, "idempotency_key_missing")


async def test_unknown_route_is_problem(merchant):
    r = await merchant.get("/nope")
    assert_problem(r, 404, "not_found")


async def test_no_key_and_bad_key(anonymous, stack):
    r = await anonymous.get("/balance")
    assert_problem(r, 401, "unauthenticated")
    r = await anonymous.get("/balance", headers={"X-API-KEY": "sk_test_nope_nope_nope_nope"})
    assert_problem(r, 401, "unauthenticated")


async def test_merchant_key_on_admin_route(merchant):
    r = await merchant.post("/sandbox/merchants", {"name": "x"})
    assert_problem(r, 403, "forbidden")


async def test_wrong_query_type(merchant):
    r = await merchant.get("/payouts", params={"limit": "abc"})
    assert_problem(r, 400, "validation_error")
    r = await merchant.get("/payouts", params={"limit": "101"})
    assert_problem(r, 400, "validation_error")
    r = await merchant.get("/payouts", params={"cursor": "garbage!"})
    assert_problem(r, 400, "validation_error")
