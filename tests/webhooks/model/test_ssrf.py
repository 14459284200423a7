"""SANDBOX_WEBHOOK_BLOCK_PRIVATE: off by default (receivers on localhost work); on, URLs
that resolve to non-public addresses are refused at registration and at connect time."""

import pytest

from tests.helpers import payout_body
from tests.webhooks.helpers import arrivals, delivery_settled, endpoint, events_of, payout_in

# Each URL and the address the refusal must name.
PRIVATE = [
    ("http://127.0.0.1:8080/hook", "127.0.0.1"),
    ("http://localhost/hook", "127.0.0.1"),
    ("http://10.1.2.3/hook", "10.1.2.3"),
    ("http://172.16.0.1/hook", "172.16.0.1"),
    ("http://192.168.1.10/hook", "192.168.1.10"),
    ("http://169.254.169.254/latest/meta-data", "169.254.169.254"),
    ("http://100.64.0.1/hook", "100.64.0.1"),
    ("http://0.0.0.0/hook", "0.0.0.0"),
    ("https://224.0.0.1/hook", "224.0.0.1"),
]
# IPv6 literals are not URLs the schema takes at all (host names resolving to IPv6 are
# checked by the same policy: see test_rules.test_address_policy).
IPV6 = ["http://[::1]/hook", "http://[::ffff:127.0.0.1]/hook", "http://[fd00:ec2::254]/hook"]


@pytest.fixture
def blocking(monkeypatch):
    monkeypatch.setenv("SANDBOX_WEBHOOK_BLOCK_PRIVATE", "true")


async def test_local_urls_are_allowed_by_default(merchant):
    for url, _ in PRIVATE[:3]:
        assert (await merchant.post("/webhook-endpoints", {"url": url})).status_code == 201


@pytest.mark.parametrize("url, address", PRIVATE)
async def test_private_addresses_are_refused_when_blocking(merchant, blocking, url, address):
    r = await merchant.post("/webhook-endpoints", {"url": url})
    assert r.status_code == 400, r.text
    problem = r.json()
    assert problem["code"] == "validation_error" and problem["errors"][0]["field"] == "url"
    message = problem["errors"][0]["message"]
    # Says why (the setting, a non-public address) and which address was refused.
    assert "SANDBOX_WEBHOOK_BLOCK_PRIVATE" in message and "non-public address" in message, message
    assert address in message or (address == "127.0.0.1" and "::1" in message), message
    assert (await merchant.get("/webhook-endpoints")).json()["data"] == []


@pytest.mark.parametrize("url", IPV6)
async def test_ipv6_literals_are_refused(merchant, url):
    r = await merchant.post("/webhook-endpoints", {"url": url})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "url"


async def test_public_addresses_pass_and_changes_are_checked(merchant, blocking):
    r = await merchant.post("/webhook-endpoints", {"url": "https://93.184.215.14/hook"})
    assert r.status_code == 201, r.text
    patch = await merchant.http.patch(f"/webhook-endpoints/{r.json()['id']}", json={"url": "http://10.0.0.1/"},
                                      headers={"X-Idempotency-Key": "move"})
    assert patch.status_code == 400 and patch.json()["errors"][0]["field"] == "url"
    assert (await merchant.get(f"/webhook-endpoints/{r.json()['id']}")).json()["url"] == "https://93.184.215.14/hook"


async def test_refused_at_connect_time(each_client, merchant, worker, receiver, monkeypatch):
    ep = await endpoint(merchant, receiver, events=["payout.created"])
    monkeypatch.setenv("SANDBOX_WEBHOOK_BLOCK_PRIVATE", "true")
    p = (await merchant.post("/payouts", payout_body())).json()
    await payout_in(merchant, p["id"], {"success"})
    event = (await events_of(merchant, p["id"]))[0]
    done = await delivery_settled(merchant, event["id"], "failed")
    # Each attempt was stopped before connecting, and says it was the receiver's loopback address.
    for attempt in done["attempts"]:
        assert "blocked by SANDBOX_WEBHOOK_BLOCK_PRIVATE" in attempt["error"], attempt
        assert "127.0.0.1" in attempt["error"] and "non-public address" in attempt["error"], attempt
    assert receiver.received == []

    monkeypatch.delenv("SANDBOX_WEBHOOK_BLOCK_PRIVATE")
    r = await merchant.post(f"/events/{event['id']}/resend", {"endpoint_id": ep["id"]})
    assert r.status_code == 202
    await arrivals(receiver, 1)
    assert receiver.ids() == [event["id"]]
