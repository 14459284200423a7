"""What bounds an audit: a per-case timeout and a budget against a receiver that hangs,
one audit at a time per endpoint, the merchant's rate limit, the SSRF policy of real
deliveries, and whose endpoint it is."""

from __future__ import annotations

import asyncio
import time

from sandbox.webhooks.audit.audit_cases import EVERY_CASE
from tests.helpers import wait_for
from tests.ratelimits.test_rate_limits import set_limit
from tests.webhooks.audit_helpers import ALL_CASES, audit, register
from tests.webhooks.receiver import Receiver


class Hanging:
    """Answers nothing until released."""

    def __init__(self) -> None:
        self.release = asyncio.Event()

    async def __call__(self, got):
        await self.release.wait()
        return 200, {}, b""


async def test_a_hanging_receiver_costs_the_budget_not_more(merchant, monkeypatch):
    monkeypatch.setenv("SANDBOX_WEBHOOK_AUDIT_CASE_TIMEOUT_S", "0.4")
    monkeypatch.setenv("SANDBOX_WEBHOOK_AUDIT_BUDGET_S", "1.5")
    hanging = Hanging()
    receiver = await Receiver(responder=hanging).start()
    try:
        endpoint = await register(merchant, receiver)
        started = time.monotonic()
        result = await audit(merchant, endpoint)
        took = time.monotonic() - started
    finally:
        hanging.release.set()
        await receiver.stop()
    assert took < 3.0, took
    assert not result["passed"] and result["failed_count"] == len(ALL_CASES)
    errors = [c["transport_error"] for c in result["cases"]]
    assert errors[0] == "no answer within 0.4 s" and all(c["observed_status"] is None for c in result["cases"])
    assert errors[-1] == "not sent: the audit's 1.5 s budget was spent on slower cases"
    assert len(receiver.received) == errors.index(errors[-1])  # the ones not sent never arrived
    assert result["case_timeout_s"] == 0.4


async def test_one_audit_at_a_time_per_endpoint(merchant, monkeypatch):
    monkeypatch.setenv("SANDBOX_WEBHOOK_AUDIT_CASE_TIMEOUT_S", "1")
    monkeypatch.setenv("SANDBOX_WEBHOOK_AUDIT_BUDGET_S", "2")
    hanging = Hanging()
    receiver = await Receiver(responder=hanging).start()
    try:
        endpoint = await register(merchant, receiver)
        first = asyncio.create_task(merchant.post(f"/webhook-endpoints/{endpoint['id']}/audit"))
        await wait_for(lambda: asyncio.sleep(0, result=receiver.received), what="the first audit's first case")
        second = await merchant.post(f"/webhook-endpoints/{endpoint['id']}/audit")
        assert second.status_code == 409, second.text
        assert second.headers["content-type"].startswith("application/problem+json")
        assert second.json()["code"] == "audit_in_progress"
        assert (await first).status_code == 200
        hanging.release.set()
        third = await merchant.post(f"/webhook-endpoints/{endpoint['id']}/audit")
        assert third.status_code == 200, third.text  # the first one's lock went with it
    finally:
        hanging.release.set()
        await receiver.stop()
    listed = (await merchant.get(f"/webhook-endpoints/{endpoint['id']}/audits")).json()["data"]
    assert len(listed) == 2  # the refused one left no record


async def test_an_audit_counts_as_the_requests_it_sends(merchant, admin):
    await set_limit(admin, merchant.merchant_id, len(EVERY_CASE) + 3)
    receiver = await Receiver().start()
    try:
        endpoint = await register(merchant, receiver)  # 1
        await audit(merchant, endpoint)  # 1 + len(EVERY_CASE): the most an audit sends
        refused = await merchant.post(f"/webhook-endpoints/{endpoint['id']}/audit")
    finally:
        await receiver.stop()
    assert refused.status_code == 429, refused.text
    problem = refused.json()
    assert problem["code"] == "rate_limited"
    assert f"an audit counts as the {len(EVERY_CASE)} requests it sends at most" in problem["detail"]
    assert len(receiver.received) == len(ALL_CASES)  # the refused audit sent nothing


async def test_private_addresses_are_refused_as_for_deliveries(merchant, monkeypatch):
    """Registered while private addresses were allowed, audited after they were blocked:
    the audit's requests go through the same connect-time check as deliveries."""
    receiver = await Receiver().start()
    try:
        endpoint = await register(merchant, receiver)
        monkeypatch.setenv("SANDBOX_WEBHOOK_BLOCK_PRIVATE", "true")
        result = await audit(merchant, endpoint)
    finally:
        await receiver.stop()
    assert receiver.received == []
    assert result["failed_count"] == len(ALL_CASES)
    assert all("refused before connecting: 127.0.0.1, a loopback address" in c["transport_error"]
               for c in result["cases"]), result["cases"][0]


async def test_only_the_merchants_own_live_endpoints(merchant, other_merchant):
    receiver = await Receiver().start()
    try:
        endpoint = await register(merchant, receiver)
        for api, path in ((other_merchant, f"/webhook-endpoints/{endpoint['id']}/audit"),
                          (merchant, "/webhook-endpoints/we_nope/audit")):
            r = await api.post(path)
            assert r.status_code == 404 and r.json()["code"] == "not_found", r.text
        assert (await other_merchant.get(f"/webhook-endpoints/{endpoint['id']}/audits")).status_code == 404
        assert (await merchant.http.delete(f"/webhook-endpoints/{endpoint['id']}",
                                           headers={"X-Idempotency-Key": "del-" + endpoint["id"]})).status_code == 200
        r = await merchant.post(f"/webhook-endpoints/{endpoint['id']}/audit")
        assert r.status_code == 404, r.text
    finally:
        await receiver.stop()
    assert receiver.received == []
