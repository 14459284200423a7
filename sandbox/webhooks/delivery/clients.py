"""The seam between a webhook attempt and the HTTP client that makes it. The worker's
delivery pool sends through one `DeliveryClient`, chosen by SANDBOX_WEBHOOK_CLIENT:
aiohttp (sandbox/webhooks/delivery/aiohttp_client.py, the default) or httpx
(sandbox/webhooks/delivery/httpx_client.py). The client is the cost of a delivery on the
worker's CPU, so the choice was measured (docs/benchmark.md: aiohttp took half httpx's
machine CPU a delivery); each keeps what a delivery promises:

- no redirect is followed, no cookie is kept, no proxy is read from the environment;
- the SSRF rule (SANDBOX_WEBHOOK_BLOCK_PRIVATE, sandbox/guards/addresses.py) is applied to the
  address dialled, and a refusal is recorded in its words (`refused`);
- at most `EXCERPT_BYTES` of an answer's body are read, however large it is;
- connections are kept alive per origin, a few at a time (`Slots` bounds the requests);
- the body sent is the `content` given, byte for byte (it is what was signed).

The one deadline per request (connect to last byte read) is the caller's
(`sender._post`), the same for every client."""

from __future__ import annotations

from collections.abc import AsyncIterable
from dataclasses import dataclass
from typing import Protocol

from sandbox.guards import addresses as ssrf

EXCERPT_BYTES = 1024
EXCERPT_CHARS = 500
USER_AGENT = "MyPay-Sandbox-Webhooks/1.0"
# Idle connections cost the pool work on every request: let them go soon.
KEEPALIVE_S = 5.0
CONNECT_AT_MOST_S = 5.0


@dataclass(slots=True)
class Answer:
    status_code: int
    excerpt: str | None  # the start of the body, as text
    retry_after: str | None
    location: str | None
    # As the receiver's side measured it (a listener reports it); None: as the sender measured.
    latency_ms: int | None = None


class Failed(Exception):
    """No answer: the connection was refused, blocked or broken, or the answer was not
    HTTP. Its text is what the attempt records, led by what happened in httpx's words
    (`ConnectError: ...`, `timeout (ConnectTimeout)`) whichever client sent it."""


class DeliveryClient(Protocol):
    deadline: float  # seconds for one request, connect to last byte read

    async def deliver(self, url: str, content: bytes, headers: dict[str, str]) -> Answer:
        """POST `content` to `url` with `headers` (and the client's User-Agent); raises
        `Failed` when no answer came."""
        ...

    async def aclose(self) -> None: ...


def refused(words: str) -> str:
    """An attempt's error when the SSRF policy refused the address: nothing was sent, so
    there is no answer to show."""
    return f"ConnectError: refused before connecting: {words}; {ssrf.REMEDY}"[:500]


async def excerpt(chunks: AsyncIterable[bytes]) -> str | None:
    """The start of a body read as it comes; a large body is not read to its end."""
    read: list[bytes] = []
    size = 0
    async for chunk in chunks:
        read.append(chunk)
        size += len(chunk)
        if size >= EXCERPT_BYTES:
            break
    if not read:
        return None
    return b"".join(read)[:EXCERPT_BYTES].decode("utf-8", errors="replace")[:EXCERPT_CHARS]
