"""The endpoints API: shapes, secrets shown once, validation as problem+json, isolation."""

import pytest

from tests.helpers import payout_body
from tests.webhooks.helpers import events_of, payout_in

URL = "http://127.0.0.1:9/hook"


async def test_create_shows_the_secret_once(merchant):
    r = await merchant.post("/webhook-endpoints", {"url": URL, "events": ["payout.*"], "description": "orders"})
    assert r.status_code == 201, r.text
    ep = r.json()
    assert ep["secret"].startswith("whsec_") and ep["public_key"] is None
    assert ep["signing"] == "hmac-sha256" and ep["status"] == "enabled" and ep["events"] == ["payout.*"]
    assert ep["faults"]["duplicate_rate"] == 0.0 and ep["description"] == "orders"
    got = (await merchant.get(f"/webhook-endpoints/{ep['id']}")).json()
    assert "secret" not in got
    assert got == {k: v for k, v in ep.items() if k != "secret"}
    listed = (await merchant.get("/webhook-endpoints")).json()
    assert [e["id"] for e in listed["data"]] == [ep["id"]] and "secret" not in listed["data"][0]


async def test_ed25519_shows_a_public_key(merchant):
    r = await merchant.post("/webhook-endpoints", {"url": URL, "signing": "ed25519"})
    assert r.status_code == 201, r.text
    ep = r.json()
    assert ep["secret"] is None and ep["public_key"].startswith("whpk_") and ep["events"] == ["*"]
    assert (await merchant.get(f"/webhook-endpoints/{ep['id']}")).json()["public_key"] == ep["public_key"]


@pytest.mark.parametrize("body, field", [
    ({"url": "ftp://example.com/hook"}, "url"),
    ({"url": "not a url"}, "url"),
    ({"url": "http:///nohost"}, "url"),
    ({"url": "https://user:pw@example.com/hook"}, "url"),
    ({"url": "https://example.com/hook#frag"}, "url"),
    ({"url": URL, "events": ["payout.sucess"]}, "events[0]"),
    ({"url": URL, "events": ["payout.*", "refund.*"]}, "events[1]"),
    ({"url": URL, "events": []}, "events"),
    ({"url": URL, "events": ["PAYOUT.*"]}, "events[0]"),
    ({"url": URL, "signing": "rsa"}, "signing"),
    ({"url": URL, "faults": {"duplicate_rate": 2}}, "faults.duplicate_rate"),
    ({"url": URL, "faults": {"fail_first_attempts": 8}}, "faults.fail_first_attempts"),
    ({"url": URL, "faults": {"explode": True}}, "faults.explode"),
    ({"url": URL, "colour": "red"}, "colour"),
    ({}, "url"),
])
async def test_bad_input_is_a_400_problem(merchant, body, field):
    r = await merchant.post("/webhook-endpoints", body)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["code"] == "validation_error"
    assert any(e["field"] == field or e["field"].endswith("." + field) for e in problem["errors"]), problem
    assert (await merchant.get("/webhook-endpoints")).json()["data"] == []


async def test_the_idempotency_key_is_required(merchant):
    r = await merchant.http.post("/webhook-endpoints", json={"url": URL})
    assert r.status_code == 400 and r.json()["code"] == "idempotency_key_missing"
    r = await merchant.http.delete("/webhook-endpoints/we_x")
    assert r.status_code == 400 and r.json()["code"] == "idempotency_key_missing"


async def test_replay_returns_the_same_endpoint(merchant):
    first = await merchant.post("/webhook-endpoints", {"url": URL}, idem="ep-1")
    again = await merchant.post("/webhook-endpoints", {"url": URL}, idem="ep-1")
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert len((await merchant.get("/webhook-endpoints")).json()["data"]) == 1


async def test_update_delete_and_paging(merchant):
    made = [(await merchant.post("/webhook-endpoints", {"url": f"{URL}/{i}"})).json() for i in range(3)]
    page = (await merchant.get("/webhook-endpoints", params={"limit": 2})).json()
    assert [e["id"] for e in page["data"]] == [made[2]["id"], made[1]["id"]] and page["has_more"]
    rest = (await merchant.get("/webhook-endpoints", params={"limit": 2, "cursor": page["next_cursor"]})).json()
    assert [e["id"] for e in rest["data"]] == [made[0]["id"]] and not rest["has_more"]

    r = await merchant.http.patch(f"/webhook-endpoints/{made[0]['id']}", headers={"X-Idempotency-Key": "p1"},
                                  json={"events": ["payout.success"], "status": "disabled",
                                        "faults": {"duplicate_rate": 0.5, "seed": 7}})
    assert r.status_code == 200, r.text
    changed = r.json()
    assert changed["events"] == ["payout.success"] and changed["status"] == "disabled"
    assert changed["disabled_reason"] == "disabled by the merchant" and changed["faults"]["seed"] == 7
    r = await merchant.http.patch(f"/webhook-endpoints/{made[0]['id']}", headers={"X-Idempotency-Key": "p2"},
                                  json={"status": "enabled"})
    assert r.json()["status"] == "enabled" and r.json()["disabled_reason"] is None

    r = await merchant.http.delete(f"/webhook-endpoints/{made[1]['id']}", headers={"X-Idempotency-Key": "d1"})
    assert r.status_code == 200 and r.json() == {"id": made[1]["id"], "object": "webhook_endpoint", "deleted": True}
    assert (await merchant.get(f"/webhook-endpoints/{made[1]['id']}")).status_code == 404
    r = await merchant.http.delete(f"/webhook-endpoints/{made[1]['id']}", headers={"X-Idempotency-Key": "d2"})
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    listed = (await merchant.get("/webhook-endpoints")).json()["data"]
    assert [e["id"] for e in listed] == [made[2]["id"], made[0]["id"]]


async def test_at_most_twenty_endpoints(merchant):
    for i in range(20):
        assert (await merchant.post("/webhook-endpoints", {"url": f"{URL}/{i}"})).status_code == 201
    r = await merchant.post("/webhook-endpoints", {"url": URL})
    assert r.status_code == 409 and r.json()["code"] == "invalid_state"


async def test_another_merchants_objects_are_not_found(merchant, other_merchant, worker):
    ep = (await merchant.post("/webhook-endpoints", {"url": URL})).json()
    p = (await merchant.post("/payouts", payout_body())).json()
    await payout_in(merchant, p["id"], {"success"})
    event = (await events_of(merchant, p["id"]))[0]
    for path in (f"/webhook-endpoints/{ep['id']}", f"/events/{event['id']}", f"/events/{event['id']}/deliveries",
                 "/webhook-endpoints/we_missing", "/events/evt_missing"):
        r = await other_merchant.get(path)
        assert r.status_code == 404 and r.json()["code"] == "not_found", path
    for path, body in ((f"/webhook-endpoints/{ep['id']}/rotate-secret", {}), (f"/events/{event['id']}/resend", {}),
                       (f"/events/{event['id']}/resend", {"endpoint_id": ep["id"]})):
        r = await other_merchant.post(path, body)
        assert r.status_code == 404 and r.json()["code"] == "not_found", path
    r = await other_merchant.http.patch(f"/webhook-endpoints/{ep['id']}", json={"status": "disabled"},
                                        headers={"X-Idempotency-Key": "x"})
    assert r.status_code == 404
    r = await other_merchant.http.delete(f"/webhook-endpoints/{ep['id']}", headers={"X-Idempotency-Key": "y"})
    assert r.status_code == 404
    r = await merchant.post(f"/events/{event['id']}/resend", {"endpoint_id": "we_nope"})
    assert r.status_code == 404
    assert (await merchant.get(f"/webhook-endpoints/{ep['id']}")).json()["status"] == "enabled"


async def test_admin_keys_use_the_admin_routes(admin):
    assert (await admin.get("/webhook-endpoints")).status_code == 403
    assert (await admin.post("/webhook-endpoints", {"url": URL})).status_code == 403
    assert (await admin.get("/events")).status_code == 403
