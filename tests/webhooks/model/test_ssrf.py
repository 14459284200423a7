"""Webhook targets inside the network (SSRF): refused at registration (422, in words) and at
every connect (the address dialled, after DNS, by either delivery client), on by default
when the sandbox is shared (bound beyond loopback, or teams made), off for a local sandbox
and explicit either way; SANDBOX_WEBHOOK_ALLOW lets named hosts and ranges through.

The suite runs with SANDBOX_WEBHOOK_BLOCK_PRIVATE=false (tests/conftest.py); these tests
set what they test. A name's answer comes from a resolver the test controls: the process's
`socket.getaddrinfo`, which the event loop's resolver, and through it both clients and the
registration's check, call."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from sandbox.settings import WebhookTargets
from sandbox.webhooks.store import target_policy
from seeds.seed import DEMO_MERCHANTS
from tests.helpers import Api, payout_body
from tests.webhooks.helpers import arrivals, delivery_settled, endpoint, events_of, payout_in
from tests.webhooks.raw_receiver import RawReceiver

SWITCH = "SANDBOX_WEBHOOK_BLOCK_PRIVATE"
PUBLIC = "93.184.215.14"

# Each URL and the words its refusal must hold: the address and its range.
PRIVATE = [
    ("http://127.0.0.1:8080/hook", "127.0.0.1, a loopback address (127.0.0.0/8)"),
    ("http://localhost/hook", "a loopback address"),
    ("http://10.1.2.3/hook", "10.1.2.3, a private address (RFC 1918) (10.0.0.0/8)"),
    ("http://172.16.0.1/hook", "172.16.0.1, a private address (RFC 1918) (172.16.0.0/12)"),
    ("http://192.168.1.10/hook", "192.168.1.10, a private address (RFC 1918) (192.168.0.0/16)"),
    ("http://169.254.169.254/latest/meta-data", "169.254.169.254, the cloud metadata address"),
    ("http://169.254.1.1/hook", "169.254.1.1, a link-local address (169.254.0.0/16)"),
    ("http://100.64.0.1/hook", "100.64.0.1, a carrier-grade NAT address (RFC 6598) (100.64.0.0/10)"),
    ("http://0.0.0.0/hook", "0.0.0.0, an unspecified address (0.0.0.0/8)"),
    ("https://224.0.0.1/hook", "224.0.0.1, a multicast address"),
]
# IPv6 literals are not URLs the schema takes at all; names that resolve to IPv6 addresses
# are checked by the same policy (test_rules.test_address_policy, and `six` below).
IPV6 = ["http://[::1]/hook", "http://[::ffff:127.0.0.1]/hook", "http://[fd00:ec2::254]/hook"]


class Resolver:
    """The answers to names the test gives; every other name as the system answers it."""

    def __init__(self, monkeypatch) -> None:
        self.names: dict[str, str] = {}
        self.asked: list[str] = []
        system = socket.getaddrinfo

        def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
            name = host.decode() if isinstance(host, bytes) else host
            if name not in self.names:
                return system(host, port, family, type, proto, flags)
            self.asked.append(name)
            address = ipaddress.ip_address(self.names[name])
            kind = socket.AF_INET if address.version == 4 else socket.AF_INET6
            at = (str(address), int(port or 0))
            sockaddr = at if kind == socket.AF_INET else (*at, 0, 0)
            return [(kind, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr)]

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture
def resolver(monkeypatch) -> Resolver:
    return Resolver(monkeypatch)


@pytest.fixture
def blocking(monkeypatch):
    monkeypatch.setenv(SWITCH, "true")


@pytest.fixture
def shared(monkeypatch):
    """A sandbox bound beyond loopback, the refusal left to its default."""
    monkeypatch.delenv(SWITCH, raising=False)
    monkeypatch.setenv("SANDBOX_HOST", "0.0.0.0")


@pytest.fixture
async def demo(stack):
    async with Api(stack.base_url, DEMO_MERCHANTS[0][2]) as api:
        yield api


def refused(r, *words: str) -> dict:
    """The 422 problem of a refused target, which says why in words."""
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["code"] == "webhook_target_refused" and problem["errors"][0]["field"] == "url", problem
    for said in (*words, "webhook targets inside the network are refused", "SANDBOX_WEBHOOK_ALLOW",
                 "sandbox listen"):
        assert said in problem["detail"], (said, problem["detail"])
    return problem


async def test_finding_1_the_demo_key_cannot_reach_the_sandbox_itself(stack, shared, demo):
    """The probe of a shared sandbox: the published demo key registered the IPN and the
    operator's API as its receivers, and read their answers on its deliveries. Bound
    beyond loopback, with nothing set, both are refused when registered."""
    ipn_port = int(stack.ipn_url.rsplit(":", 1)[1])
    api_port = int(stack.base_url.rsplit(":", 1)[1])
    before = (await demo.get("/webhook-endpoints")).json()["data"]
    for url in (f"http://127.0.0.1:{ipn_port}/ipn/rail", f"http://127.0.0.1:{api_port}/api/v1/admin/teams"):
        refused(await demo.post("/webhook-endpoints", {"url": url}),
                "127.0.0.1, a loopback address (127.0.0.0/8)", "the API is bound to 0.0.0.0 (SANDBOX_HOST)",
                f"{SWITCH}=false")
    assert (await demo.get("/webhook-endpoints")).json()["data"] == before


async def test_made_teams_share_the_sandbox(monkeypatch, admin, merchant):
    monkeypatch.delenv(SWITCH, raising=False)  # `auto`, on 127.0.0.1
    r = await admin.post("/admin/teams", {"name": "ssrf-test"})
    assert r.status_code == 201, r.text
    refused(await merchant.post("/webhook-endpoints", {"url": "http://127.0.0.1:9/hook"}), "teams are made")
    monkeypatch.setenv(SWITCH, "false")  # explicit: allowed even so
    assert (await merchant.post("/webhook-endpoints", {"url": "http://127.0.0.1:9/hook"})).status_code == 201


def test_off_for_a_local_sandbox_on_when_shared():
    def on(teams: bool, api_host: str, mode: str) -> bool:
        return target_policy.decide(WebhookTargets(block_private=mode, allow="", api_host=api_host), teams).on

    assert not on(False, "127.0.0.1", "auto") and not on(False, "localhost", "auto") and not on(False, "::1", "auto")
    assert on(False, "0.0.0.0", "auto") and on(False, "192.168.1.5", "auto") and on(False, "sandbox.internal", "auto")
    assert on(True, "127.0.0.1", "auto")
    assert not on(False, "0.0.0.0", "teams") and on(True, "0.0.0.0", "teams")  # the image, alone or shared
    assert not on(True, "0.0.0.0", "false") and on(False, "127.0.0.1", "true")


async def test_explicit_false_wins_over_a_shared_bind(merchant, shared, monkeypatch):
    monkeypatch.setenv(SWITCH, "false")
    assert (await merchant.post("/webhook-endpoints", {"url": "http://127.0.0.1:9/hook"})).status_code == 201


@pytest.mark.parametrize("url, words", PRIVATE)
async def test_targets_inside_the_network_are_refused(merchant, blocking, url, words):
    problem = refused(await merchant.post("/webhook-endpoints", {"url": url}), words, f"{SWITCH}=true")
    assert words in problem["errors"][0]["message"]
    assert (await merchant.get("/webhook-endpoints")).json()["data"] == []


async def test_names_are_judged_by_every_address_they_resolve_to(merchant, blocking, resolver):
    resolver.names |= {"six.example": "fd00:ec2::254", "mapped.example": "::ffff:10.0.0.1",
                       "sixtofour.example": "2002:a9fe:a9fe::1", "fine.example": PUBLIC}
    refused(await merchant.post("/webhook-endpoints", {"url": "http://six.example/h"}),
            "six.example resolves to fd00:ec2::254, the cloud metadata address")
    refused(await merchant.post("/webhook-endpoints", {"url": "http://mapped.example/h"}),
            "a private address (RFC 1918) (10.0.0.0/8), carried in ::ffff:10.0.0.1")
    refused(await merchant.post("/webhook-endpoints", {"url": "http://sixtofour.example/h"}),
            "the cloud metadata address (169.254.169.254/32), carried in 2002:a9fe:a9fe::1")
    assert (await merchant.post("/webhook-endpoints", {"url": "http://fine.example/h"})).status_code == 201


@pytest.mark.parametrize("url", IPV6)
async def test_ipv6_literals_are_refused(merchant, url):
    r = await merchant.post("/webhook-endpoints", {"url": url})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "url"


async def test_public_addresses_pass_and_changes_are_checked(merchant, blocking):
    r = await merchant.post("/webhook-endpoints", {"url": f"https://{PUBLIC}/hook"})
    assert r.status_code == 201, r.text
    patch = await merchant.http.patch(f"/webhook-endpoints/{r.json()['id']}", json={"url": "http://10.0.0.1/"},
                                      headers={"X-Idempotency-Key": "move"})
    refused(patch, "10.0.0.1, a private address")
    assert (await merchant.get(f"/webhook-endpoints/{r.json()['id']}")).json()["url"] == f"https://{PUBLIC}/hook"


async def attempts_refused(merchant: Api, event_id: str, *words: str) -> None:
    """The delivery failed, every attempt refused before connecting, in words, with no answer."""
    done = await delivery_settled(merchant, event_id, "failed")
    for attempt in done["attempts"]:
        assert attempt["status_code"] is None and attempt["response_excerpt"] is None, attempt
        for said in ("refused before connecting", "webhook targets inside the network are refused",
                     "SANDBOX_WEBHOOK_ALLOW", *words):
            assert said in attempt["error"], (said, attempt["error"])


async def test_refused_at_connect_time(each_client, quick_retries, merchant, worker, receiver,
                                       monkeypatch):
    ep = await endpoint(merchant, receiver, events=["payout.created"])
    monkeypatch.setenv(SWITCH, "true")
    p = (await merchant.post("/payouts", payout_body())).json()
    await payout_in(merchant, p["id"], {"success"})
    event = (await events_of(merchant, p["id"]))[0]
    await attempts_refused(merchant, event["id"], "127.0.0.1, a loopback address (127.0.0.0/8)")
    assert receiver.received == []

    monkeypatch.setenv(SWITCH, "false")
    r = await merchant.post(f"/events/{event['id']}/resend", {"endpoint_id": ep["id"]})
    assert r.status_code == 202
    await arrivals(receiver, 1)
    assert receiver.ids() == [event["id"]]


async def test_a_connection_kept_alive_is_refused_once_the_refusal_is_on(each_client, quick_retries, merchant, worker,
                                                                        receiver, monkeypatch):
    """A first team made turns the refusal on in a running worker: the connection it kept
    alive to a receiver inside the network must not carry the next request."""
    await endpoint(merchant, receiver, events=["payout.created"])
    first = (await merchant.post("/payouts", payout_body())).json()
    await arrivals(receiver, 1)  # delivered while allowed; the worker keeps the connection
    monkeypatch.setenv(SWITCH, "true")
    second = (await merchant.post("/payouts", payout_body())).json()
    await attempts_refused(merchant, (await events_of(merchant, second["id"]))[0]["id"], "127.0.0.1, a loopback")
    assert receiver.ids() == [(await events_of(merchant, first["id"]))[0]["id"]]


async def test_a_name_that_rebinds_to_loopback_is_refused_when_dialled(each_client, quick_retries, merchant, worker,
                                                                      receiver, blocking, resolver):
    """DNS rebinding: the name resolves to a public address when the endpoint is registered,
    to the receiver's loopback address when the worker delivers."""
    resolver.names["rebinding.example"] = PUBLIC
    r = await merchant.post("/webhook-endpoints", {"url": f"http://rebinding.example:{receiver.port}/hook",
                                                   "events": ["payout.created"]})
    assert r.status_code == 201, r.text
    resolver.names["rebinding.example"] = "127.0.0.1"
    p = (await merchant.post("/payouts", payout_body())).json()
    event = (await events_of(merchant, (await payout_in(merchant, p["id"], {"success"}))["id"]))[0]
    await attempts_refused(merchant, event["id"], "rebinding.example resolves to 127.0.0.1, a loopback address")
    assert receiver.received == []
    assert resolver.asked.count("rebinding.example") >= 2  # asked again at delivery, not remembered


async def test_a_redirect_to_loopback_is_not_followed(each_client, quick_retries, merchant, worker, receiver, resolver,
                                                      monkeypatch):
    """An allowed receiver answers 307 to the loopback: the worker follows no redirect, so
    the hop's target gets nothing and the attempt says where it was sent."""
    monkeypatch.setenv(SWITCH, "true")
    monkeypatch.setenv("SANDBOX_WEBHOOK_ALLOW", "staging.example")
    resolver.names["staging.example"] = "127.0.0.1"
    hop = receiver.url("/api/v1/admin/teams")
    redirecting = await RawReceiver(answer=lambda _: (
        f"HTTP/1.1 307 Temporary Redirect\r\nLocation: {hop}\r\nContent-Length: 0\r\n\r\n".encode())).start()
    try:
        r = await merchant.post("/webhook-endpoints", {"url": redirecting.url(host="staging.example"),
                                                       "events": ["payout.created"]})
        assert r.status_code == 201, r.text
        p = (await merchant.post("/payouts", payout_body())).json()
        event = (await events_of(merchant, (await payout_in(merchant, p["id"], {"success"}))["id"]))[0]
        done = await delivery_settled(merchant, event["id"], "failed")
    finally:
        await redirecting.stop()
    assert {a["error"] for a in done["attempts"]} == {f"HTTP 307: redirects are not followed (to {hop})"}
    assert len(redirecting.got) == len(done["attempts"]) and receiver.received == []
    refused(await merchant.post("/webhook-endpoints", {"url": hop}), "127.0.0.1, a loopback address")


async def test_the_allow_list_lets_named_hosts_and_ranges_through(each_client, merchant, worker, receiver, resolver,
                                                                monkeypatch):
    monkeypatch.setenv(SWITCH, "true")
    monkeypatch.setenv("SANDBOX_WEBHOOK_ALLOW", "staging.example, 10.20.0.0/16")
    resolver.names |= {"staging.example": "127.0.0.1", "other.example": "127.0.0.1"}
    r = await merchant.post("/webhook-endpoints", {"url": f"http://staging.example:{receiver.port}/hook",
                                                   "events": ["payout.created"]})
    assert r.status_code == 201, r.text
    refused(await merchant.post("/webhook-endpoints", {"url": f"http://other.example:{receiver.port}/hook"}),
            "other.example resolves to 127.0.0.1")
    refused(await merchant.post("/webhook-endpoints", {"url": receiver.url()}), "127.0.0.1, a loopback")
    ranged = await merchant.post("/webhook-endpoints", {"url": "http://10.20.3.4/hook"})
    assert ranged.status_code == 201, ranged.text
    await merchant.delete(f"/webhook-endpoints/{ranged.json()['id']}")  # nothing answers there
    refused(await merchant.post("/webhook-endpoints", {"url": "http://10.21.0.1/hook"}), "10.21.0.1")
    p = (await merchant.post("/payouts", payout_body())).json()
    await arrivals(receiver, 1)
    event = (await events_of(merchant, p["id"]))[0]
    assert receiver.ids() == [event["id"]]
