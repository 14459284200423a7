"""API fault rules and the X-Sandbox-Fault header, over real HTTP: what a client sees,
what was committed, and what a retry with the same key gets."""

from __future__ import annotations

import asyncio
import secrets
import shutil
import subprocess

import httpx
import pytest

from sandbox.client.blocking import tls
from tests.helpers import new_merchant, payout_body


async def _payouts(api) -> list[dict]:
    return (await api.get("/payouts")).json()["data"]


async def _entry(api, request_id: str) -> dict:
    return (await api.get(f"/sandbox/requests/{request_id}")).json()


async def test_before_anything_faults_refuse_and_change_nothing(merchant):
    for kind, status in (("unavailable", 503), ("rate_limited", 429)):
        r = await merchant.post("/payouts", payout_body(), headers={"X-Sandbox-Fault": kind, "X-Request-ID": kind})
        assert r.status_code == status and r.headers["retry-after"] == "1"
        assert r.headers["content-type"].startswith("application/problem+json")
        assert (await _entry(merchant, kind))["fault"] == kind
    assert await _payouts(merchant) == []
    bad = await merchant.post("/payouts", payout_body(), headers={"X-Sandbox-Fault": "gremlins"})
    assert bad.status_code == 400 and "X-Sandbox-Fault" in bad.text
    assert await _payouts(merchant) == []


async def test_a_rule_applies_to_its_next_matching_requests_then_is_spent(merchant):
    rule = (await merchant.post("/sandbox/faults", {"method": "POST", "path": "/payouts", "fault": "rate_limited",
                                                    "times": 2})).json()
    assert rule["remaining"] == 2 and rule["object"] == "fault_rule"
    assert (await merchant.get("/balance")).status_code == 200  # another method and path: untouched
    assert [(await merchant.post("/payouts", payout_body())).status_code for _ in range(3)] == [429, 429, 201]
    listed = (await merchant.get("/sandbox/faults")).json()["data"]
    assert [(r["id"], r["remaining"]) for r in listed] == [(rule["id"], 0)]
    assert (await merchant.http.delete(f"/sandbox/faults/{rule['id']}",
                                       headers={"X-Idempotency-Key": secrets.token_hex(8)})).status_code == 204
    assert (await merchant.get("/sandbox/faults")).json()["data"] == []
    bad = await merchant.post("/sandbox/faults", {"path": "/payouts", "fault": "meteor"})
    assert bad.status_code == 400


async def test_slow_answers_the_truth_late(merchant):
    await merchant.post("/sandbox/faults", {"path": "/balance", "fault": "slow", "delay_s": 0.5})
    started = asyncio.get_running_loop().time()
    r = await merchant.get("/balance")
    assert r.status_code == 200 and asyncio.get_running_loop().time() - started >= 0.5


async def test_response_lost_is_a_transport_error_and_the_same_key_gets_the_true_answer(merchant):
    key = secrets.token_hex(8)
    with pytest.raises(httpx.TransportError):  # no status at all: not an HTTPStatusError, not a 500
        await merchant.post("/payouts", payout_body(), idem=key,
                            headers={"X-Sandbox-Fault": "response_lost", "X-Request-ID": "req-lost"})
    [made] = await _payouts(merchant)  # the effect is committed
    retry = await merchant.post("/payouts", payout_body(), idem=key)
    assert retry.status_code == 201 and retry.headers["idempotent-replayed"] == "true"
    assert retry.json()["id"] == made["id"]
    lost = await _entry(merchant, "req-lost")
    assert (lost["fault"], lost["status"], lost["object_ids"]) == ("response_lost", 201, [made["id"]])


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
async def test_curl_sees_response_lost_as_a_transport_error(merchant):
    body = httpx.Request("POST", "/", json=payout_body()).content
    done = await asyncio.to_thread(
        subprocess.run, ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST",
                         f"{merchant.http.base_url}/payouts", "-H", f"X-API-KEY: {merchant.key}",
                         "-H", "Content-Type: application/json", "-H", "X-Idempotency-Key: curl-1",
                         "-H", "X-Sandbox-Fault: response_lost", "-d", body],
        capture_output=True, text=True, timeout=30)
    assert done.returncode == 52, (done.returncode, done.stderr)  # curl: "Empty reply from server"
    assert done.stdout == "000"  # no status was received
    assert len(await _payouts(merchant)) == 1


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
async def test_node_fetch_sees_response_lost_as_a_transport_error(merchant):
    script = """
    const [url, key, body] = process.argv.slice(1);
    fetch(url, {method: "POST", body, headers: {"X-API-KEY": key, "Content-Type": "application/json",
                                                "X-Idempotency-Key": "node-1", "X-Sandbox-Fault": "response_lost"}})
      .then(r => { console.log("status " + r.status); process.exit(0); },
            e => { console.log("transport " + e.name + " " + (e.cause && e.cause.code)); process.exit(3); });
    """
    body = httpx.Request("POST", "/", json=payout_body()).content.decode()
    done = await asyncio.to_thread(subprocess.run, ["node", "-e", script, f"{merchant.http.base_url}/payouts",
                                                    merchant.key, body], capture_output=True, text=True, timeout=30)
    assert done.returncode == 3 and done.stdout.startswith("transport TypeError"), done.stdout + done.stderr
    assert len(await _payouts(merchant)) == 1


async def test_timeout_holds_the_answer_without_holding_the_payout(merchant):
    key = secrets.token_hex(8)
    await merchant.post("/sandbox/faults", {"method": "POST", "path": "/payouts", "fault": "timeout", "delay_s": 30})
    with pytest.raises(httpx.ReadTimeout):
        await merchant.http.post("/payouts", json=payout_body(), timeout=1.0, headers={"X-Idempotency-Key": key})
    # While its answer is held, nothing of the request is: the payout can be cancelled at once.
    [made] = await _payouts(merchant)
    cancelled = await merchant.post(f"/payouts/{made['id']}/cancel", {}, timeout=5.0)
    assert cancelled.status_code == 200
    retry = await merchant.post("/payouts", payout_body(), idem=key)
    assert retry.headers["idempotent-replayed"] == "true" and retry.json()["id"] == made["id"]


async def test_error_after_commit_answers_500_and_the_same_key_gets_the_true_answer(merchant):
    key = secrets.token_hex(8)
    r = await merchant.post("/payouts", payout_body(), idem=key, headers={"X-Sandbox-Fault": "error_after_commit"})
    assert r.status_code == 500 and r.json()["code"] == "internal_error"
    [made] = await _payouts(merchant)
    retry = await merchant.post("/payouts", payout_body(), idem=key)
    assert retry.status_code == 201 and retry.headers["idempotent-replayed"] == "true"
    assert retry.json()["id"] == made["id"]


async def test_a_manual_clock_merchants_rules_work_the_same(stack):
    async with httpx.AsyncClient(verify=tls(), base_url=stack.base_url + "/api/v1") as c:
        made = await c.post("/sandbox/merchants", json={"name": "manual", "opening_balance": "10000.00",
                                                        "clock": "manual"},
                            headers={"X-API-KEY": stack.admin_key, "X-Idempotency-Key": secrets.token_hex(8)})
        assert made.status_code == 201, made.text
    from tests.helpers import Api
    api = Api(stack.base_url, made.json()["api_key"])
    try:
        clock = (await api.get("/sandbox/clock")).json()
        await api.post("/sandbox/faults", {"method": "POST", "path": "/payouts", "fault": "error_after_commit"})
        r = await api.post("/payouts", payout_body(), headers={"X-Request-ID": "req-manual"})
        assert r.status_code == 500
        entry = await _entry(api, "req-manual")
        assert entry["fault"] == "error_after_commit" and entry["at"] == clock["time"]
        assert len(await _payouts(api)) == 1
    finally:
        await api.aclose()


async def test_verdicts_in_coverage(merchant, other_merchant):
    # Careful: retries with the same key.
    key = secrets.token_hex(8)
    with pytest.raises(httpx.TransportError):
        await merchant.post("/payouts", payout_body(), idem=key, headers={"X-Sandbox-Fault": "response_lost"})
    await merchant.post("/payouts", payout_body(), idem=key)
    # Reads back by reference after a 500: recovered too.
    await merchant.post("/payouts", payout_body(amount="20.00", reference="ref-500"),
                        headers={"X-Sandbox-Fault": "error_after_commit"})
    await merchant.get("/payouts", params={"reference": "ref-500"})
    # Careless: a new key after a timeout pays twice.
    with pytest.raises(httpx.ReadTimeout):
        await merchant.http.post("/payouts", json=payout_body(amount="30.00"), timeout=0.5,
                                 headers={"X-Idempotency-Key": "k1", "X-Sandbox-Fault": "timeout"})
    again = await merchant.post("/payouts", payout_body(amount="30.00"), idem="k2")
    faults = {f["kind"]: f for f in (await merchant.get("/sandbox/coverage")).json()["faults"]}
    assert (faults["response_lost"]["injected"], faults["response_lost"]["recovered"]) == (1, 1)
    assert faults["error_after_commit"]["recovered"] == 1
    [case] = faults["timeout"]["cases"]
    assert case["verdict"] == "duplicated" and case["duplicate_payout_id"] == again.json()["id"]
    assert faults["timeout"]["duplicated"] == 1
    # Nothing done yet: open.
    await other_merchant.post("/payouts", payout_body(), headers={"X-Sandbox-Fault": "error_after_commit"})
    other = {f["kind"]: f for f in (await other_merchant.get("/sandbox/coverage")).json()["faults"]}
    assert other["error_after_commit"]["open"] == 1


async def test_new_merchants_have_no_rules(stack):
    api, _ = await new_merchant(stack)
    try:
        assert (await api.get("/sandbox/faults")).json() == {"data": [], "has_more": False, "next_cursor": None}
    finally:
        await api.aclose()
