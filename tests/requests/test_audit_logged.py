"""The receiver audit (POST /webhook-endpoints/{id}/audit) is in the request log like any
other request: its answer (JSON or JUnit), the endpoint and the audit it made, and its
refusals."""

from __future__ import annotations

from tests.webhooks.audit_helpers import audit, register
from tests.webhooks.audit_receivers import trusting
from tests.webhooks.receiver import Receiver

ROUTE = "/api/v1/webhook-endpoints/{endpoint_id}/audit"


async def _entries(api) -> list[dict]:
    r = await api.get("/sandbox/requests", params={"path": "/api/v1/webhook-endpoints/"})
    assert r.status_code == 200, r.text
    return [e for e in r.json()["data"] if e["route"] == ROUTE]


async def test_an_audit_is_logged_with_its_answer_and_the_audit_it_made(merchant):
    receiver = await Receiver(responder=trusting).start()
    try:
        endpoint = await register(merchant, receiver)
        made = await audit(merchant, endpoint)
        junit = await merchant.post(f"/webhook-endpoints/{endpoint['id']}/audit", params={"format": "junit"},
                                    headers={"X-Request-ID": "req-audit-junit"})
        assert junit.status_code == 200
    finally:
        await receiver.stop()
    missing = await merchant.post("/webhook-endpoints/we_nope/audit")
    assert missing.status_code == 404

    refused, as_junit, as_json = await _entries(merchant)
    assert as_json["status"] == 200 and as_json["idempotency_outcome"] == "first"
    assert as_json["path"] == f"/api/v1/webhook-endpoints/{endpoint['id']}/audit"
    assert endpoint["id"] in as_json["object_ids"] and made["id"] in as_json["object_ids"]
    assert made["id"] in as_json["response_body"] and as_json["duration_ms"] > 0
    assert as_junit["id"] == "req-audit-junit" and as_junit["path"].endswith("/audit?format=junit")
    assert as_junit["response_body"].startswith("<?xml") and as_junit["status"] == 200
    assert any(h["name"] == "content-type" and h["value"].startswith("application/xml")
               for h in as_junit["response_headers"])
    assert refused["status"] == 404 and '"not_found"' in refused["response_body"]
