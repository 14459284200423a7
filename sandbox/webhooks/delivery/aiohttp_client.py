"""The delivery pool's client made of aiohttp (SANDBOX_WEBHOOK_CLIENT=aiohttp, the
default: the soak's A/B measured half httpx's machine CPU a delivery, docs/benchmark.md).

The SSRF rule is applied where aiohttp opens a socket (`socket_factory`), to the very
address it is about to dial: for a host name, each address DNS returned (so a name that
resolves to a private address is refused, and DNS rebinding cannot slip past); for an
IP literal, which aiohttp never hands to a resolver, the literal itself."""

from __future__ import annotations

import errno
import ipaddress
import socket

import aiohttp

from sandbox.settings import Settings
from sandbox.webhooks.delivery import clients
from sandbox.webhooks.delivery.clients import Answer, Failed
from sandbox.webhooks.model import ssrf


def guarded_socket(addr_info: tuple) -> socket.socket:
    """A socket for `addr_info` (as getaddrinfo gives it), unless its address is one
    SANDBOX_WEBHOOK_BLOCK_PRIVATE forbids: then an OSError aiohttp reports as a
    connection error, naming the address."""
    family, type_, proto, _, address = addr_info
    if ssrf.blocking():
        host = ipaddress.ip_address(str(address[0]).split("%", 1)[0])
        if ssrf.forbidden(host):
            raise OSError(errno.EACCES, f"blocked by SANDBOX_WEBHOOK_BLOCK_PRIVATE: {host} is a non-public address")
    return socket.socket(family=family, type=type_, proto=proto)


def session(settings: Settings) -> aiohttp.ClientSession:
    """One session per worker (it needs the running event loop)."""
    connector = aiohttp.TCPConnector(
        limit=max(1, settings.webhook_concurrency),
        # The pool's `Slots` bound the requests to one origin; the connector then never
        # opens more connections than that to it either.
        limit_per_host=max(1, settings.webhook_per_origin),
        keepalive_timeout=clients.KEEPALIVE_S,
        socket_factory=guarded_socket,
    )
    return aiohttp.ClientSession(
        connector=connector,
        cookie_jar=aiohttp.DummyCookieJar(),  # a receiver's cookie is never sent anywhere
        trust_env=False,  # no proxy from the environment
        headers={"User-Agent": clients.USER_AGENT},
        # The whole request's deadline is the caller's (`sender._post`), as for every
        # client; these bound its parts, as httpx's timeouts do.
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=min(clients.CONNECT_AT_MOST_S,
                                                                   settings.webhook_timeout_s),
                                      sock_read=settings.webhook_timeout_s),
        # aiohttp's default bounds on a header line and a header field (8 KiB each): a
        # receiver cannot make us hold a huge head.
        max_line_size=8190,
        max_field_size=8190,
    )


def failed(exc: BaseException) -> Failed:
    """What an attempt records for aiohttp's error, in httpx's words (as every client's)."""
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return Failed("timeout (ConnectTimeout)")
    if isinstance(exc, aiohttp.SocketTimeoutError):
        return Failed("timeout (ReadTimeout)")
    if isinstance(exc, aiohttp.ClientConnectorError):
        kind = "ConnectError"
    elif isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientResponseError):
        kind = "RemoteProtocolError"
    elif isinstance(exc, aiohttp.ClientPayloadError):
        kind = "ReadError"
    else:
        kind = type(exc).__name__
    return Failed(f"{kind}: {exc}"[:500])


class AiohttpClient:
    def __init__(self, settings: Settings) -> None:
        self._session = session(settings)
        self.deadline = settings.webhook_timeout_s

    async def deliver(self, url: str, content: bytes, headers: dict[str, str]) -> Answer:
        try:
            async with self._session.post(url, data=content, headers=headers, allow_redirects=False) as response:
                return Answer(response.status, await clients.excerpt(response.content.iter_any()),
                              response.headers.get("retry-after"), response.headers.get("location"))
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            raise failed(exc) from None

    async def aclose(self) -> None:
        await self._session.close()


def build(settings: Settings) -> AiohttpClient:
    return AiohttpClient(settings)
