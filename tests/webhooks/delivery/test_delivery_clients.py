"""Every delivery client the worker can be built with (SANDBOX_WEBHOOK_CLIENT) keeps what
a delivery promises, against real receivers on real sockets: one deadline for the whole
request, a capped read of the answer, no redirect followed, the SSRF rule on the address
dialled (a host name that resolves to the loopback is refused), kept-alive connections
within the per-origin limit, and the bytes signed are the bytes sent."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook

from sandbox.settings import WEBHOOK_CLIENTS, get_settings
from sandbox.webhooks.delivery import clients, sender
from sandbox.webhooks.delivery.slots import Slots
from sandbox.webhooks.model import faults, signatures
from sandbox.webhooks.store.deliveries import Target
from tests.helpers import wait_for
from tests.webhooks.raw_receiver import HUGE, RawReceiver
from tests.webhooks.trickle import Trickle

DEADLINE_S = 1.0


@pytest.fixture(params=WEBHOOK_CLIENTS)
async def client(request, monkeypatch) -> AsyncIterator[sender.WebhookClient]:
    monkeypatch.setenv("SANDBOX_WEBHOOK_CLIENT", request.param)
    monkeypatch.setenv("SANDBOX_WEBHOOK_TIMEOUT_S", str(DEADLINE_S))
    http = sender.build(get_settings())
    assert http.__class__.__module__.split(".")[-1] == {"aiohttp": "aiohttp_client"}.get(request.param, "httpx_client")
    yield http
    await http.aclose()


@pytest.fixture
async def raw() -> AsyncIterator[RawReceiver]:
    receiver = await RawReceiver().start()
    yield receiver
    await receiver.stop()


async def post(client, url: str, content: bytes = b"{}"):
    return await sender.post_once(client, url, content, {"content-type": "application/json"}, 0)


async def test_a_trickling_answer_is_cut_off_at_the_deadline(client):
    slow = await Trickle(every_s=0.1).start()
    try:
        started = time.monotonic()
        record = await post(client, slow.url())
        took = time.monotonic() - started
        assert record.status_code is None and record.error == f"timeout: no complete answer within {DEADLINE_S:g} s"
        assert DEADLINE_S * 0.9 <= took < DEADLINE_S + 1.0, took

        async def closed():
            return not slow.open_now()
        await wait_for(closed, timeout=5, what="the sender to hang up (the answer takes 500 s)")
    finally:
        await slow.stop()


async def test_a_huge_answer_is_not_read_to_its_end(client, raw):
    raw.answer = lambda _: HUGE  # a gigabyte, as fast as the socket takes it
    record = await post(client, raw.url())
    assert record.status_code == 200 and record.error is None
    assert record.response_excerpt == "y" * clients.EXCERPT_CHARS
    # The sender hung up after its excerpt: the receiver wrote no more than the socket's
    # buffers hold, nowhere near the gigabyte it announced.
    assert raw.written < 16 * 1024 * 1024, raw.written


async def test_a_redirect_is_not_followed(client, raw):
    raw.answer = lambda got: (b"HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n"
                              if got.path == "/hook" else b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    sent = sender.Sent()
    await sender._post(client, raw.url(), b"{}", {"content-type": "application/json"}, 0, [], sent)
    assert sent.first.status_code == 302 and sent.location == "/elsewhere"
    assert [g.path for g in raw.got] == ["/hook"]


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
async def test_a_name_or_address_that_is_private_is_refused_when_blocking(client, raw, monkeypatch, host):
    monkeypatch.setenv("SANDBOX_WEBHOOK_BLOCK_PRIVATE", "true")
    record = await post(client, raw.url(host=host))
    assert record.status_code is None and record.error is not None
    assert record.error.startswith("ConnectError: refused before connecting: "), record.error
    named = "127.0.0.1" if host == "127.0.0.1" else "localhost resolves to 127.0.0.1"
    assert f"{named}, a loopback address (127.0.0.0/8)" in record.error, record.error
    assert "(SANDBOX_WEBHOOK_BLOCK_PRIVATE=true)" in record.error and "SANDBOX_WEBHOOK_ALLOW" in record.error
    assert raw.connections == 0
    monkeypatch.setenv("SANDBOX_WEBHOOK_BLOCK_PRIVATE", "false")
    assert (await post(client, raw.url(host=host))).status_code == 200  # the same URL, allowed


async def test_a_closed_port_is_a_connect_error(client, raw):
    url = raw.url()
    await raw.stop()
    record = await post(client, url)
    assert record.status_code is None and record.error is not None and record.error.startswith("ConnectError")


async def test_connections_are_kept_alive_within_the_per_origin_limit(client, raw):
    raw.hold_s = 0.02  # long enough that the requests overlap
    slots = Slots(total=50, per_origin=4, per_merchant=50)

    async def one() -> int | None:
        async with slots.take("merchant", raw.url()):
            return (await post(client, raw.url())).status_code

    for _ in range(3):
        assert await asyncio.gather(*(one() for _ in range(20))) == [200] * 20
    assert raw.most_open <= 4 and raw.connections <= 4, (raw.most_open, raw.connections)
    assert len(raw.got) == 60


async def test_the_bytes_signed_are_the_bytes_sent(client, raw):
    key = signatures.generate(signatures.HMAC).signing_key
    at = datetime.now(UTC)
    target = Target(delivery_id="whd_1", merchant="m_1", seq=1, attempt=1, lease_token="t", lease_until=at,
                    event_id="evt_1", event_type="payout.created", event_at=at, sequence=1,
                    data='{"amount": "10.00", "name": "Zoë \\u00e9 ✓", "note": "a\\nb"}', request=None,
                    endpoint_id="we_1", url=raw.url(), signing_keys=[key], faults=faults.load(None),
                    fresh_until=at)
    sent = await sender.send(client, target)
    assert sent.first.status_code == 200
    [got] = raw.got
    assert got.body == sender.body(target)
    assert got.headers["content-length"] == str(len(got.body))
    assert Webhook(key).verify(got.body, got.headers)["data"]["name"] == "Zoë é ✓"
    assert got.headers["user-agent"] == "MyPay-Sandbox-Webhooks/1.0" and "cookie" not in got.headers


def test_an_unknown_client_is_refused_by_name(monkeypatch):
    monkeypatch.setenv("SANDBOX_WEBHOOK_CLIENT", "httpx-aiohttp")  # tried in the A/B, taken out
    with pytest.raises(ValueError, match="SANDBOX_WEBHOOK_CLIENT must be one of aiohttp, httpx"):
        get_settings()


def test_aiohttp_delivers_unless_told_otherwise(monkeypatch):
    monkeypatch.delenv("SANDBOX_WEBHOOK_CLIENT", raising=False)
    assert get_settings().webhook_client == "aiohttp"
