"""A listener endpoint is judged and faulted as a URL endpoint is: the receiver audit and
the gate grade the receiver behind the listener, and a faulted delivery is retried
through it."""

from __future__ import annotations

import pytest

from tests.helpers import wait_for
from tests.webhooks.audit_receivers import Verifying, trusting
from tests.webhooks.listen.helpers import listening, make_payouts
from tests.webhooks.receiver import Receiver

pytestmark = pytest.mark.usefixtures("worker")


@pytest.fixture
async def receiver():
    r = await Receiver().start()
    yield r
    await r.stop()


async def test_the_audit_and_the_gate_judge_the_receiver_behind_the_listener(stack, merchant, receiver) -> None:
    async with listening(stack.base_url, merchant.key, receiver.url()) as opened:
        endpoint = {**opened["endpoint"], "secret": opened["secret"]}
        receiver.responder = Verifying(endpoint)
        audit = (await merchant.post(f"/webhook-endpoints/{endpoint['id']}/audit")).json()
        assert audit["passed"] is True, audit
        assert audit["url"] == f"listener://{endpoint['id']}"
        assert all(c["observed_status"] is not None for c in audit["cases"])
        gate = (await merchant.post("/sandbox/gate", json={"audit_endpoint": endpoint["id"]})).json()
        assert gate["held"] is True, gate

        receiver.responder = trusting  # accepts a forged signature, a stale timestamp, …
        audit = (await merchant.post(f"/webhook-endpoints/{endpoint['id']}/audit")).json()
        assert audit["passed"] is False
        assert {c["name"] for c in audit["cases"] if not c["passed"]} >= {"tampered_body", "wrong_secret"}
        gate = (await merchant.post("/sandbox/gate", json={"audit_endpoint": endpoint["id"]})).json()
        assert gate["held"] is False


async def test_an_audit_with_nobody_listening_says_so(stack, merchant) -> None:
    opened = (await merchant.post("/webhook-listeners", json={"name": "away"})).json()
    audit = (await merchant.post(f"/webhook-endpoints/{opened['endpoint']['id']}/audit")).json()
    assert audit["passed"] is False
    assert "no listener connected" in audit["cases"][0]["transport_error"]


async def test_a_faulted_delivery_is_retried_through_the_listener(stack, merchant, receiver) -> None:
    async with listening(stack.base_url, merchant.key, receiver.url(), events=["payout.created"]) as opened:
        endpoint_id = opened["endpoint"]["id"]
        r = await merchant.http.patch(f"/webhook-endpoints/{endpoint_id}", json={"faults": {"fail_first_attempts": 1}},
                                      headers={"X-Idempotency-Key": "fault-1"})
        assert r.status_code == 200, r.text
        await make_payouts(merchant, 1)
        event_id = (await merchant.get("/events", params={"type": "payout.created"})).json()["data"][0]["id"]

        async def delivered() -> dict | None:
            ds = (await merchant.get(f"/events/{event_id}/deliveries")).json()["data"]
            return ds[0] if ds and ds[0]["status"] == "succeeded" else None

        delivery = await wait_for(delivered, timeout=30, what="the retried delivery to succeed")
        first, second = delivery["attempts"]
        assert first["faults"] == ["fail_first"] and first["status_code"] == 200 and first["error"]
        assert second["faults"] == [] and second["status_code"] == 200 and second["error"] is None
        assert receiver.ids().count(event_id) == 2  # both attempts went through the listener
