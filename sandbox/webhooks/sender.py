"""One attempt on the wire: the Standard Webhooks request for a delivery, with the
faults its endpoint asked for, and what came back; sent through the worker's one pooled
HTTP client (a timeout, no redirects followed, no proxies from the environment, and the
SSRF policy applied at connect time).

The timeout is one deadline for the whole request, connect to last byte read: httpx's
own timeouts are per operation, and a receiver that sends one byte every few seconds
never trips a read timeout (one held a connection for 250 s under a 15 s timeout)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import httpcore
import httpx
import msgspec

from sandbox.core.clock import iso, now
from sandbox.settings import Settings
from sandbox.webhooks import faults as fault_rules
from sandbox.webhooks import signatures, urls
from sandbox.webhooks.deliveries import AttemptRecord, Target
from sandbox.webhooks.ssrf import GuardedBackend
from sandbox.webhooks.wire import CoalescingBackend

EXCERPT_BYTES = 1024
EXCERPT_CHARS = 500


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
    await _post(http, target.url, content, request_headers, timestamp, recorded, sent)
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
                applied: list[str], sent: Sent) -> None:
    at = now()
    started = time.perf_counter()
    code = excerpt = error = None
    deadline = http.timeout.read  # the client's timeout (see `build`), for the request as a whole
    try:
        async with asyncio.timeout(deadline):
            response = await http.post_bare(url, content, request_headers)
            try:
                code = response.status_code
                excerpt = await _excerpt(response)
                if not sent.records:
                    sent.retry_after = response.headers.get("retry-after")
                    sent.location = response.headers.get("location")
            finally:
                await response.aclose()
    except TimeoutError:
        code, error = None, f"timeout: no complete answer within {deadline:g} s"
    except httpx.TimeoutException as exc:
        error = f"timeout ({type(exc).__name__})"
    except (httpx.HTTPError, httpx.InvalidURL, OSError) as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
    latency_ms = round((time.perf_counter() - started) * 1000)
    sent.records.append(AttemptRecord(at=at, webhook_timestamp=timestamp, status_code=code, latency_ms=latency_ms,
                                      error=error, response_excerpt=excerpt, faults=applied))


async def _excerpt(response: httpx.Response) -> str | None:
    """The start of the response body; a large body is not read to its end."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= EXCERPT_BYTES:
            break
    if not chunks:
        return None
    return b"".join(chunks)[:EXCERPT_BYTES].decode("utf-8", errors="replace")[:EXCERPT_CHARS]


USER_AGENT = "MyPay-Sandbox-Webhooks/1.0"


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over an httpcore pool that dials through `GuardedBackend`, each
    request written at once (`CoalescingBackend`). httpx builds its pool without a way to
    pass a network backend, so it is rebuilt here with the same options."""

    def __init__(self, limits: httpx.Limits) -> None:
        super().__init__(trust_env=False, limits=limits, retries=0)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=False,
            retries=0,
            network_backend=CoalescingBackend(GuardedBackend()),
        )


class WebhookClient(httpx.AsyncClient):
    """The worker's client, whose webhook requests go straight to its transport: past the
    client's cookie jar (a cookie one merchant's receiver sets is never sent to another
    merchant's endpoint on the same host, nor back to its own: Standard Webhooks requests
    carry none), and past its redirect and auth layers, which a webhook never uses (a
    fifth of the CPU of a send on the loopback; figures in docs/benchmark.md).

    Each request is made as `build_request` would make it (the client's headers first,
    then the request's; its timeouts), from a URL parsed once per endpoint URL, with the
    headers httpx would add given whole: building through the client re-parsed the URL
    and merged the headers on every send, 70 µs of the worker's CPU, and `Request(content=)`
    still merged them twice, 60 µs, where this takes 19 (tests/webhooks/test_webhook_client.py
    holds it equal to `build_request`)."""

    def __init__(self, transport: httpx.AsyncBaseTransport, **kwargs) -> None:
        super().__init__(transport=transport, **kwargs)
        self._webhook_transport = transport
        self._base_headers = list(self.headers.raw)
        self._base_names = {name.lower() for name in self.headers}
        self._extensions = {"timeout": self.timeout.as_dict()}

    def build_webhook_request(self, url: str, content: bytes, headers: dict[str, str]) -> httpx.Request:
        if not self._base_names.isdisjoint(name.lower() for name in headers):
            # One of the client's headers replaced (a webhook never does): httpx's merge.
            return self.build_request("POST", url, content=content, headers=headers)
        # The headers `Request(content=...)` would add (Host first; Content-Length last, or
        # after Host for an empty body) are given here with the body as a stream, which
        # httpx then takes as they are: it merged and re-normalised the list twice.
        parsed = urls.parsed(url)
        auto = [(b"Host", parsed.netloc)] if parsed.host else []
        length = [(b"Content-Length", str(len(content)).encode())]
        if not content:
            auto, length = auto + length, []
        return httpx.Request("POST", parsed, stream=httpx.ByteStream(content), extensions=self._extensions,
                             headers=[*auto, *self._base_headers,
                                      *((k.encode(), v.encode()) for k, v in headers.items()), *length])

    async def post_bare(self, url: str, content: bytes, headers: dict[str, str]) -> httpx.Response:
        """POST with the client's headers and timeouts; the answer's body is streamed:
        the caller reads what it needs and closes it."""
        request = self.build_webhook_request(url, content, headers)
        response = await self._webhook_transport.handle_async_request(request)
        response.request = request
        return response



def build(settings: Settings) -> WebhookClient:
    concurrency = max(1, settings.webhook_concurrency)
    # Idle connections cost the pool work on every request: let them go soon.
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency, keepalive_expiry=5)
    timeout = httpx.Timeout(settings.webhook_timeout_s, connect=min(5.0, settings.webhook_timeout_s))
    return WebhookClient(
        GuardedTransport(limits),
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
        headers={"user-agent": USER_AGENT},
    )
