"""Per-API-key rate limits in Redis: headers on every answer, a per-merchant override
set by an admin, 429 problem+json with Retry-After, and the default restored."""

import secrets

from tests.helpers import payout_body


async def set_limit(admin, merchant_id: str, per_minute: int):
    r = await admin.http.put(f"/admin/merchants/{merchant_id}/rate-limit", json={"requests_per_minute": per_minute},
                             headers={"X-Idempotency-Key": secrets.token_hex(8)})
    assert r.status_code == 200, r.text
    return r.json()


async def test_headers_on_every_answer(merchant):
    r = await merchant.get("/balance")
    assert r.status_code == 200
    limit, remaining = int(r.headers["RateLimit-Limit"]), int(r.headers["RateLimit-Remaining"])
    assert limit >= 100 and 0 <= remaining < limit
    assert int(r.headers["RateLimit-Reset"]) >= 0


async def test_override_then_429_then_reset(admin, merchant, other_merchant):
    body = await set_limit(admin, merchant.merchant_id, 5)
    assert body["requests_per_minute"] == 5 and body["effective"] == "5 per 1 minute"
    statuses = []
    for _ in range(5):
        r = await merchant.get("/balance")
        statuses.append(r.status_code)
        assert r.headers["RateLimit-Limit"] == "5"
    assert statuses == [200] * 5 and r.headers["RateLimit-Remaining"] == "0"

    refused = await merchant.post("/payouts", payout_body())
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert problem["code"] == "rate_limited" and problem["status"] == 429 and problem["request_id"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["RateLimit-Remaining"] == "0" and refused.headers["RateLimit-Limit"] == "5"
    # Refused requests change nothing and are not counted as used.
    assert (await merchant.get("/balance")).status_code == 429
    # Other merchants keep the default.
    assert (await other_merchant.get("/balance")).status_code == 200

    # An admin reads it, then puts the merchant back on the default: at once.
    r = await admin.get(f"/admin/merchants/{merchant.merchant_id}/rate-limit")
    assert r.json()["requests_per_minute"] == 5
    r = await admin.http.delete(f"/admin/merchants/{merchant.merchant_id}/rate-limit",
                                headers={"X-Idempotency-Key": secrets.token_hex(8)})
    assert r.status_code == 200 and r.json()["requests_per_minute"] is None
    ok = await merchant.get("/balance")
    assert ok.status_code == 200 and int(ok.headers["RateLimit-Limit"]) > 5
    assert ok.json()["available"] == "1000000.00"


async def test_admin_route_refuses_bad_input(admin, merchant):
    r = await admin.http.put("/admin/merchants/mch_nope/rate-limit", json={"requests_per_minute": 5},
                             headers={"X-Idempotency-Key": secrets.token_hex(8)})
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    for bad in ({"requests_per_minute": 0}, {"requests_per_minute": 5.5}, {"per_minute": 5}, {}):
        r = await admin.http.put(f"/admin/merchants/{merchant.merchant_id}/rate-limit", json=bad,
                                 headers={"X-Idempotency-Key": secrets.token_hex(8)})
        assert r.status_code == 400 and r.json()["code"] == "validation_error", (bad, r.text)
    # Merchants may not set their own limit.
    r = await merchant.http.put(f"/admin/merchants/{merchant.merchant_id}/rate-limit",
                                json={"requests_per_minute": 5}, headers={"X-Idempotency-Key": "k1"})
    assert r.status_code == 403
