"""The delivery pool's client made of httpx (SANDBOX_WEBHOOK_CLIENT=httpx, the fallback;
aiohttp is the default, chosen by the soak's A/B), also the receiver audit's client.

The A/B also tried httpx over aiohttp's transport (`httpx-aiohttp`): it cost 1.49 ms of
machine CPU a delivery where aiohttp itself cost 1.25 and httpx 2.77 (docs/benchmark.md),
so it was taken out with its dependency."""

from __future__ import annotations

import ssl
import typing

import anyio
import httpcore
import httpx

from sandbox.guards import addresses as ssrf
from sandbox.settings import Settings
from sandbox.webhooks.delivery import clients
from sandbox.webhooks.delivery.clients import Answer, Failed
from sandbox.webhooks.delivery.wire import CoalescingBackend
from sandbox.webhooks.model import urls
from sandbox.webhooks.store import target_policy


class Refused(httpcore.ConnectError):
    """The SSRF policy refused every address of the host: nothing was dialled."""


class GuardedStream(httpcore.AsyncNetworkStream):
    """A connection that checks its peer's address before each write (one a request,
    under `CoalescingStream`): one kept alive from before the refusal turned on (a first
    team made) is refused as a new one would be."""

    def __init__(self, inner: httpcore.AsyncNetworkStream, host: str) -> None:
        self._inner = inner
        self._host = host
        peer = inner.get_extra_info("server_addr")
        self._address = ssrf.host_address(str(peer[0])) if peer else None

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if self._address is not None:
            why = target_policy.refusal(self._host, self._address)
            if why is not None:
                raise Refused(why)
        await self._inner.write(buffer, timeout)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                        timeout: float | None = None) -> httpcore.AsyncNetworkStream:
        return GuardedStream(await self._inner.start_tls(ssl_context, server_hostname, timeout), self._host)

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend with the SSRF policy applied where the socket is opened:
    resolve, check every address, then dial a checked address (TLS still verifies the
    host name, which httpcore passes separately), and each connection checked again before
    each request (`GuardedStream`). Redirects never reach here: the client sends straight
    to its transport, past httpx's redirect layer."""

    def __init__(self) -> None:
        # pyright takes httpcore's stand-in AnyIOBackend, defined for when anyio is missing (it is not).
        self._inner: httpcore.AsyncNetworkBackend = httpcore.AnyIOBackend()  # pyright: ignore[reportAttributeAccessIssue]

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: typing.Iterable | None = None) -> httpcore.AsyncNetworkStream:
        # The last reading, as the aiohttp client's: its caller keeps it fresh beforehand.
        policy = target_policy.known()
        if not policy.on:
            return GuardedStream(await self._inner.connect_tcp(host, port, timeout, local_address, socket_options),
                                 host)
        try:
            with anyio.fail_after(timeout):
                addresses = await ssrf.permitted_addresses(policy, host, port)
        except ssrf.Refused as exc:
            raise Refused(str(exc)) from None
        except ssrf.Unresolved as exc:
            raise httpcore.ConnectError(str(exc)) from None
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from None
        last: Exception | None = None
        for address in addresses:
            try:
                return GuardedStream(
                    await self._inner.connect_tcp(str(address), port, timeout, local_address, socket_options), host)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        raise last or httpcore.ConnectError(f"{host} has no address")

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: typing.Iterable | None = None) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("webhooks are never sent over Unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


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


class HttpxClient(httpx.AsyncClient):
    """The worker's client, whose webhook requests go straight to its transport: past the
    client's cookie jar (a cookie one merchant's receiver sets is never sent to another
    merchant's endpoint on the same host, nor back to its own: Standard Webhooks requests
    carry none), and past its redirect and auth layers, which a webhook never uses (a
    fifth of the CPU of a send on the loopback; figures in docs/benchmark.md).

    Each request is made as `build_request` would make it (the client's headers first,
    then the request's; its timeouts), from a URL parsed once per endpoint URL, with the
    headers httpx would add given whole: building through the client re-parsed the URL
    and merged the headers on every send, 70 µs of the worker's CPU, and `Request(content=)`
    still merged them twice, 60 µs, where this takes 19 (tests/webhooks/delivery/test_webhook_client.py
    holds it equal to `build_request`)."""

    def __init__(self, transport: httpx.AsyncBaseTransport, **kwargs) -> None:
        super().__init__(transport=transport, **kwargs)
        self._webhook_transport = transport
        self._base_headers = list(self.headers.raw)
        self._base_names = {name.lower() for name in self.headers}
        self._extensions = {"timeout": self.timeout.as_dict()}
        self.deadline = self.timeout.read or 0.0  # see `build`: the request as a whole

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

    async def deliver(self, url: str, content: bytes, headers: dict[str, str]) -> Answer:
        try:
            response = await self.post_bare(url, content, headers)
            try:
                return Answer(response.status_code, await clients.excerpt(response.aiter_bytes()),
                              response.headers.get("retry-after"), response.headers.get("location"))
            finally:
                await response.aclose()
        except httpx.TimeoutException as exc:
            raise Failed(f"timeout ({type(exc).__name__})") from None
        except httpx.ConnectError as exc:
            refused = isinstance(exc.__context__, Refused) or isinstance(exc.__cause__, Refused)
            raise Failed(clients.refused(str(exc)) if refused else f"ConnectError: {exc}"[:500]) from None
        except (httpx.HTTPError, httpx.InvalidURL, OSError) as exc:
            raise Failed(f"{type(exc).__name__}: {exc}"[:500]) from None


def _options(settings: Settings) -> dict:
    concurrency = max(1, settings.webhook_concurrency)
    return {
        # The deadline for the whole request is `deadline` (in `sender._post`); these are
        # httpx's per-operation timeouts under it.
        "timeout": httpx.Timeout(settings.webhook_timeout_s,
                                 connect=min(clients.CONNECT_AT_MOST_S, settings.webhook_timeout_s)),
        "limits": httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency,
                               keepalive_expiry=clients.KEEPALIVE_S),
    }


def build(settings: Settings) -> HttpxClient:
    options = _options(settings)
    return HttpxClient(GuardedTransport(options["limits"]), timeout=options["timeout"], follow_redirects=False,
                       trust_env=False, headers={"user-agent": clients.USER_AGENT})

