"""One write a request: httpcore writes an HTTP/1.1 request's head and its body apart,
two system calls (and on the loopback two TCP segments, each processed through to the
receiver inside the call). A webhook is a small JSON body sent whole, so each stream
here holds what is written until httpcore reads the answer, and sends it then in one
write. The bytes on the wire are the same; only how they are handed to the kernel
changes (figures in docs/benchmark.md).

The stream also keeps its socket. Before each request, httpcore's pool asks every idle
connection whether the server has closed it ("is_readable": a poll of the socket). Asked
through anyio, each answer first rebuilt anyio's table of socket attributes: 90 µs of
the worker's CPU a send. Here it is httpcore's own poll of the socket kept."""

from __future__ import annotations

import ssl
import typing

import httpcore
from httpcore._utils import is_socket_readable

# A body larger than this is written as it comes rather than held (webhook bodies are a
# few hundred bytes; the receiver audit's cases are small too).
HOLD_AT_MOST = 64 * 1024


class CoalescingStream(httpcore.AsyncNetworkStream):
    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        self._held = b""
        self._timeout: float | None = None
        self._socket = inner.get_extra_info("socket")

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._held += buffer
        self._timeout = timeout
        if len(self._held) > HOLD_AT_MOST:
            await self._flush()

    async def _flush(self) -> None:
        if self._held:
            held, self._held = self._held, b""
            await self._inner.write(held, self._timeout)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        await self._flush()
        return await self._inner.read(max_bytes, timeout)

    async def aclose(self) -> None:
        self._held = b""
        await self._inner.aclose()

    async def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                        timeout: float | None = None) -> httpcore.AsyncNetworkStream:
        await self._flush()
        return CoalescingStream(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> typing.Any:
        if info == "is_readable":
            return is_socket_readable(self._socket)
        return self._inner.get_extra_info(info)


class CoalescingBackend(httpcore.AsyncNetworkBackend):
    """`inner`'s connections, each a `CoalescingStream`."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend) -> None:
        self._inner = inner

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: typing.Iterable | None = None) -> httpcore.AsyncNetworkStream:
        return CoalescingStream(await self._inner.connect_tcp(host, port, timeout, local_address, socket_options))

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: typing.Iterable | None = None) -> httpcore.AsyncNetworkStream:
        return CoalescingStream(await self._inner.connect_unix_socket(path, timeout, socket_options))

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
