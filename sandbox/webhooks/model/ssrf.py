"""Server-side request forgery policy. With SANDBOX_WEBHOOK_BLOCK_PRIVATE=true, an
endpoint URL whose host resolves to a loopback, private, link-local (cloud metadata),
CGNAT, multicast or otherwise non-global address is refused when it is registered, and
again when the worker connects (the address checked is the address dialled, so DNS
rebinding cannot slip past)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import typing

import anyio
import httpcore

from sandbox.settings import get_settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def blocking() -> bool:
    return get_settings().webhook_block_private


def forbidden(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not address.is_global or address.is_multicast


class Refused(Exception):
    """The host is not one the policy lets us call."""


async def resolve(host: str, port: int) -> list[Address]:
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Refused(f"{host} does not resolve ({exc})") from None
    seen: list[Address] = []
    for *_, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])  # a host string for INET and INET6
        if address not in seen:
            seen.append(address)
    return seen


async def permitted_addresses(host: str, port: int) -> list[Address]:
    """Every address `host` resolves to, or Refused if any of them is forbidden."""
    addresses = await resolve(host, port)
    bad = [str(a) for a in addresses if forbidden(a)]
    if bad:
        raise Refused(f"{host} resolves to a non-public address ({', '.join(bad)})")
    return addresses


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend with the policy applied where the socket is opened:
    resolve, check every address, then dial a checked address (TLS still verifies the
    host name, which httpcore passes separately)."""

    def __init__(self) -> None:
        # pyright takes httpcore's stand-in AnyIOBackend, defined for when anyio is missing (it is not).
        self._inner: httpcore.AsyncNetworkBackend = httpcore.AnyIOBackend()  # pyright: ignore[reportAttributeAccessIssue]

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: typing.Iterable | None = None) -> httpcore.AsyncNetworkStream:
        if not blocking():
            return await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        try:
            with anyio.fail_after(timeout):
                addresses = await permitted_addresses(host, port)
        except Refused as exc:
            raise httpcore.ConnectError(f"blocked by SANDBOX_WEBHOOK_BLOCK_PRIVATE: {exc}") from None
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from None
        last: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(str(address), port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        raise last or httpcore.ConnectError(f"{host} has no address")

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: typing.Iterable | None = None) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("webhooks are never sent over Unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
