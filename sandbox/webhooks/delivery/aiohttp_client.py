"""The delivery pool's client made of aiohttp (SANDBOX_WEBHOOK_CLIENT=aiohttp, the
default: the soak's A/B measured half httpx's machine CPU a delivery, docs/benchmark.md).

The SSRF rule is applied where aiohttp opens a socket (`socket_factory`), to the very
address it is about to dial: for a host name, each address DNS returned (so a name that
resolves to a private address is refused, and DNS rebinding cannot slip past); for an
IP literal, which aiohttp never hands to a resolver, the literal itself. The socket is
told the host it is dialled for (`target_policy.DIALLING`, set per request) so that
SANDBOX_WEBHOOK_ALLOW may name hosts. A connection kept alive is checked again before each
request written to it (`GuardedRequest`); redirects are never followed. The policy is the
last reading of whether teams are made (`target_policy.known()`): the caller reads it
again first when it is stale (`target_policy.keep_fresh`), so a lost database fails
there, before anything is sent, never inside a request.

A kept-alive connection the receiver has closed (its idle timeout) is not written to: aiohttp's
pool knows of the hang-up only once the event loop has read it, and a busy loop may hand the
connection out first (Python 3.13's loop did, every time, in tests/webhooks/delivery/test_wire.py).
So `GuardedRequest` polls the socket as httpcore's pool does: readable before a request means
the receiver hung up (or spoke unasked), nothing has been sent, and the request goes once more
on a new connection."""

from __future__ import annotations

import select
import socket
from functools import lru_cache

import aiohttp
import yarl

from sandbox.guards import addresses as ssrf
from sandbox.settings import Settings
from sandbox.webhooks.delivery import clients
from sandbox.webhooks.delivery.clients import Answer, Failed
from sandbox.webhooks.store import target_policy


def guarded_socket(addr_info: tuple) -> socket.socket:
    """A socket for `addr_info` (as getaddrinfo gives it), unless the SSRF policy refuses
    its address for the host being dialled: then `ssrf.Refused`, an OSError that aiohttp
    reports as a connection error, in the policy's words."""
    family, type_, proto, _, address = addr_info
    dialled = ssrf.host_address(str(address[0]))
    if dialled is not None:
        why = target_policy.refusal(target_policy.DIALLING.get() or str(dialled), dialled)
        if why is not None:
            raise ssrf.Refused(why)
    return socket.socket(family=family, type=type_, proto=proto)


class HungUp(aiohttp.ServerDisconnectedError):
    """The connection was closed by the receiver (or had bytes nobody asked for) before a
    byte of the request was written to it."""

    def __init__(self) -> None:
        super().__init__("Server disconnected before the request was sent")


def hung_up(sock: socket.socket | None) -> bool:
    """True if the socket has something to read while no answer is awaited: the peer's
    close, or bytes out of turn (one poll, no wait; httpcore's pool asks the same)."""
    if sock is None or sock.fileno() == -1:
        return True
    poll = select.poll()
    poll.register(sock.fileno(), select.POLLIN)
    return bool(poll.poll(0))


class GuardedRequest(aiohttp.ClientRequest):
    """A request that checks, before it writes a byte, the connection it was given: one
    kept alive from before the refusal turned on (a first team made) is refused as a new
    one would be, and closed; one the receiver has hung up is given back (`HungUp`)."""

    async def send(self, conn: aiohttp.connector.Connection) -> aiohttp.ClientResponse:
        transport = conn.transport
        peer = transport.get_extra_info("peername") if transport is not None else None
        address = ssrf.host_address(str(peer[0])) if peer else None
        if address is not None:
            why = target_policy.refusal(self.url.host or str(address), address)
            if why is not None:
                raise ssrf.Refused(why)
        if transport is not None and hung_up(transport.get_extra_info("socket")):
            raise HungUp
        return await super().send(conn)


@lru_cache(maxsize=4096)
def target(url: str) -> yarl.URL:
    """An endpoint's URL parsed once (aiohttp takes it as it is): its host is what the
    socket's check is told it is dialling for."""
    return yarl.URL(url)


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
        request_class=GuardedRequest,
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


def refusal_of(error: BaseException | None) -> str | None:
    """The policy's words, if the connection failed because every address was refused
    (aiohappyeyeballs raises one error for several addresses tried, made of theirs)."""
    if isinstance(error, ssrf.Refused):
        return str(error)
    inner = [e for e in (getattr(error, "exceptions", None) or ()) if isinstance(e, BaseException)]
    if inner and all(isinstance(e, ssrf.Refused) for e in inner):
        return "; ".join(dict.fromkeys(str(e) for e in inner))
    return None


def failed(exc: BaseException) -> Failed:
    """What an attempt records for aiohttp's error, in httpx's words (as every client's)."""
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return Failed("timeout (ConnectTimeout)")
    if isinstance(exc, aiohttp.SocketTimeoutError):
        return Failed("timeout (ReadTimeout)")
    # Refused where the socket is opened (wrapped as a connector error), or where a kept
    # connection was to be written to (an OSError from the request, wrapped as ClientOSError).
    refused = refusal_of(exc.os_error if isinstance(exc, aiohttp.ClientConnectorError) else exc.__cause__)
    if refused is not None:
        return Failed(clients.refused(refused))
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
        parsed = target(url)
        dialling = target_policy.DIALLING.set(parsed.host)
        try:
            try:
                return await self._post(parsed, content, headers)
            except HungUp:  # nothing was sent on it, and it is closed: once more
                return await self._post(parsed, content, headers)
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            raise failed(exc) from None
        finally:
            target_policy.DIALLING.reset(dialling)

    async def _post(self, url: yarl.URL, content: bytes, headers: dict[str, str]) -> Answer:
        async with self._session.post(url, data=content, headers=headers, allow_redirects=False) as response:
            return Answer(response.status, await clients.excerpt(response.content.iter_any()),
                          response.headers.get("retry-after"), response.headers.get("location"))

    async def aclose(self) -> None:
        await self._session.close()


def build(settings: Settings) -> AiohttpClient:
    return AiohttpClient(settings)
