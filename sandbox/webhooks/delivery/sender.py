"""One attempt on the wire: the Standard Webhooks request for a delivery, with the
faults its endpoint asked for, and what came back; sent through the worker's one pooled
HTTP client (`clients.DeliveryClient`: no redirects followed, no proxies from the
environment, the SSRF policy applied at connect time, a capped read of the answer).

The timeout is one deadline for the whole request, connect to last byte read, whichever
client sends it: httpx's own timeouts are per operation, and a receiver that sends one
byte every few seconds never trips a read timeout (one held a connection for 250 s under
a 15 s timeout)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import msgspec

from sandbox.core.clock import iso, now
from sandbox.settings import Settings
from sandbox.webhooks.delivery import listener_link
from sandbox.webhooks.delivery.clients import DeliveryClient, Failed
from sandbox.webhooks.model import faults as fault_rules
from sandbox.webhooks.model import signatures
from sandbox.webhooks.store.deliveries import AttemptRecord, Target

# Whatever client the worker was built with (the name is older than the choice).
WebhookClient = DeliveryClient


class Envelope(msgspec.Struct):
    id: str
    type: str
    timestamp: str
    sequence: int
    data: msgspec.Raw
    request: msgspec.Raw  # the API request that caused the event, or null


@dataclass(slots=True)
class Sent:
    records: list[AttemptRecord] = field(default_factory=list)  # the attempt, then an injected duplicate
    retry_after: str | None = None
    location: str | None = None

    @property
    def first(self) -> AttemptRecord:
        return self.records[0]


def _compact(stored: str | None) -> msgspec.Raw:
    return msgspec.Raw(msgspec.json.encode(msgspec.json.decode(stored)) if stored is not None else b"null")


def body(target: Target) -> bytes:
    """The same bytes on every attempt: `{"id","type","timestamp","sequence","data","request"}`;
    `request` at the top level, as Stripe's events carry it."""
    return msgspec.json.encode(Envelope(target.event_id, target.event_type, iso(target.event_at), target.sequence,
                                        _compact(target.data), _compact(target.request)))


def headers(target: Target, content: bytes, timestamp: int, applied: frozenset[str]) -> dict[str, str]:
    signing_keys = target.signing_keys
    if fault_rules.WRONG_SIGNATURE in applied:
        scheme = signatures.ED25519 if signing_keys[0].startswith(signatures.PRIVATE_PREFIX) else signatures.HMAC
        signing_keys = [signatures.generate(scheme).signing_key]
    return {
        "content-type": "application/json",
        "webhook-id": target.event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signatures.signature_header(signing_keys, target.event_id, timestamp, content),
    }


async def send(http: WebhookClient, target: Target) -> Sent:
    applied = fault_rules.for_attempt(target.faults, target.seq, target.attempt)
    content = body(target)
    at = now()
    timestamp = int(at.timestamp())
    if fault_rules.STALE_TIMESTAMP in applied:
        timestamp -= int(fault_rules.STALE_BY.total_seconds())
    request_headers = headers(target, content, timestamp, applied)
    sent = Sent()
    recorded = sorted(applied - {fault_rules.DUPLICATE})
    # A listener endpoint with no listener connected: `listener_link.Absent` goes up to the
    # attempt, which parks the delivery (nothing was sent, so nothing is recorded).
    await _post(http, target.url, content, request_headers, timestamp, recorded, sent, park=True)
    code = sent.first.status_code
    if fault_rules.DUPLICATE in applied and code is not None and 200 <= code < 300:
        await _post(http, target.url, content, request_headers, timestamp, [fault_rules.DUPLICATE], sent)
    return sent


async def post_once(http: WebhookClient, url: str, content: bytes, request_headers: dict[str, str],
                    timestamp: int) -> AttemptRecord:
    """One request that is no delivery's (the receiver audit), sent and measured as an
    attempt is."""
    sent = Sent()
    await _post(http, url, content, request_headers, timestamp, [], sent)
    return sent.first


async def _post(http: WebhookClient, url: str, content: bytes, request_headers: dict[str, str], timestamp: int,
                applied: list[str], sent: Sent, *, park: bool = False) -> None:
    """One request, to a URL through `http` or down a listener's stream (`listener_link`):
    the same bytes, the same deadline, the same record either way."""
    at = now()
    started = time.perf_counter()
    code = excerpt = error = None
    answer = None
    deadline = http.deadline
    try:
        async with asyncio.timeout(deadline):
            if listener_link.endpoint_of(url) is None:
                answer = await http.deliver(url, content, request_headers)
            else:
                answer = await listener_link.link().deliver(url, content, request_headers, deadline)
        code, excerpt = answer.status_code, answer.excerpt
        if not sent.records:
            sent.retry_after, sent.location = answer.retry_after, answer.location
    except TimeoutError:
        error = f"timeout: no complete answer within {deadline:g} s"
    except Failed as exc:
        error = str(exc)
    except listener_link.Absent as exc:
        if park:
            raise
        error = f"{exc} (start `sandbox listen` for it)"
    latency_ms = round((time.perf_counter() - started) * 1000)
    if answer is not None and answer.latency_ms is not None:  # a listener's own measure of its receiver
        latency_ms = answer.latency_ms
    sent.records.append(AttemptRecord(at=at, webhook_timestamp=timestamp, status_code=code, latency_ms=latency_ms,
                                      error=error, response_excerpt=excerpt, faults=applied))


def _aiohttp(settings: Settings) -> WebhookClient:
    # Imported when a client is built: the API imports this module (the receiver audit's
    # cases) and must not pay for aiohttp at start; only the worker sends webhooks.
    from sandbox.webhooks.delivery import aiohttp_client

    return aiohttp_client.build(settings)


def _httpx(settings: Settings) -> WebhookClient:
    from sandbox.webhooks.delivery import httpx_client

    return httpx_client.build(settings)


# The client each SANDBOX_WEBHOOK_CLIENT names (settings.WEBHOOK_CLIENTS; aiohttp the default).
BUILDERS: dict[str, Callable[[Settings], WebhookClient]] = {"aiohttp": _aiohttp, "httpx": _httpx}


def build(settings: Settings) -> WebhookClient:
    """The worker's one pooled client for webhooks, of the kind SANDBOX_WEBHOOK_CLIENT
    names; built in the running event loop (aiohttp's sessions need it)."""
    return BUILDERS[settings.webhook_client](settings)
