"""Server-side request forgery policy: which webhook targets a sandbox refuses, and the
words it refuses them with. Pure (no database, no network): the decision of whether the
refusal is on is `delivery/guard.py`'s, where the sandbox's sharing is read.

When the refusal is on, a target whose address is inside the network (loopback, private,
link-local, CGNAT, unique-local, the cloud metadata addresses, unspecified, multicast, any
other non-global address, and the IPv6 forms that carry one of those IPv4 addresses) is
refused, unless SANDBOX_WEBHOOK_ALLOW names its host or a range holding its address. The
check is made on every address a name resolves to when an endpoint is registered, and
again on the very address dialled when the worker connects (DNS rebinding)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from functools import lru_cache

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOW_SETTING = "SANDBOX_WEBHOOK_ALLOW"
SWITCH_SETTING = "SANDBOX_WEBHOOK_BLOCK_PRIVATE"

# Named first: the metadata services answer on link-local / unique-local addresses, which
# the ranges below hold too, but "the cloud metadata address" is the reason to give.
METADATA = (ipaddress.ip_network("169.254.169.254/32"), ipaddress.ip_network("fd00:ec2::254/128"))
# The ranges a refusal names, in the order they are tried: the first that holds the address.
RANGES: tuple[tuple[str, tuple[Network, ...]], ...] = (
    ("the cloud metadata address", METADATA),
    ("a loopback address", (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))),
    ("an unspecified address", (ipaddress.ip_network("0.0.0.0/8"), ipaddress.ip_network("::/128"))),
    ("a private address (RFC 1918)", tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12",
                                                                                "192.168.0.0/16"))),
    ("a link-local address", (ipaddress.ip_network("169.254.0.0/16"), ipaddress.ip_network("fe80::/10"))),
    ("a carrier-grade NAT address (RFC 6598)", (ipaddress.ip_network("100.64.0.0/10"),)),
    ("a unique-local address (RFC 4193)", (ipaddress.ip_network("fc00::/7"),)),
    ("a multicast address", (ipaddress.ip_network("224.0.0.0/4"), ipaddress.ip_network("ff00::/8"))),
)
# IPv6 forms that carry an IPv4 address (the stdlib unwraps ::ffff:a.b.c.d, 6to4 and Teredo;
# these two it does not): NAT64's well-known prefix and the deprecated IPv4-compatible form.
NAT64 = ipaddress.ip_network("64:ff9b::/96")
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def embedded(address: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries, if it carries one."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]  # the client's address; the server's is a public relay
    if address in NAT64 or (address in IPV4_COMPATIBLE and int(address) > 1):  # not :: nor ::1
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def shown(address: Address) -> str:
    """The address as a refusal names it, the same on every Python: an IPv4-mapped IPv6
    address in its mixed form, `::ffff:10.0.0.1` (RFC 5952, section 5), which Python 3.13
    prints and 3.11 prints as `::ffff:a00:1`."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None and not address.scope_id:
        return f"::ffff:{address.ipv4_mapped}"
    return str(address)


def inside(address: Address) -> str | None:
    """Why `address` is inside the network, in words naming its range; None for a public
    address."""
    carried = embedded(address)
    if carried is not None:
        why = inside(carried)
        return f"{why}, carried in {shown(address)}" if why else None
    for words, networks in RANGES:
        for network in networks:
            if address.version == network.version and address in network:
                return f"{words} ({network})"
    if not address.is_global:
        return "a reserved or special-purpose address (not global)"
    return None


@lru_cache(maxsize=4096)
def host_address(host: str) -> Address | None:
    """`host` as an IP address, if it is one (a URL's host or a socket's address);
    remembered: the worker asks before every request it writes."""
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Allow:
    """SANDBOX_WEBHOOK_ALLOW: host names (exact, any case) and addresses or ranges (CIDR)
    an operator lets through anyway; empty by default."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[Network, ...] = ()

    def admits(self, host: str, address: Address) -> bool:
        if host.lower().rstrip(".") in self.hosts:
            return True
        return any(address.version == n.version and address in n for n in self.networks)


class AllowError(ValueError):
    """SANDBOX_WEBHOOK_ALLOW holds something that is neither a host name nor a range."""


@lru_cache(maxsize=16)
def allow_list(raw: str) -> Allow:
    hosts: set[str] = set()
    networks: list[Network] = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
            continue
        except ValueError:
            pass
        if "/" in item or ":" in item or not all(label for label in item.rstrip(".").split(".")):
            raise AllowError(f"{ALLOW_SETTING}: {item!r} is neither a host name nor an address or range (CIDR)")
        hosts.add(item.lower().rstrip("."))
    return Allow(frozenset(hosts), tuple(networks))


@dataclass(frozen=True, slots=True)
class Policy:
    """Whether targets inside the network are refused (`on`), why in words (`why`: the
    setting or the sign of sharing that turned it on or off), and what is allowed anyway."""

    on: bool
    why: str
    allow: Allow = Allow()

    def refusal(self, host: str, address: Address) -> str | None:
        """None if `address` (what `host` resolved to, or `host` itself) may be called;
        else why not, in words."""
        if not self.on or self.allow.admits(host, address):
            return None
        where = inside(address)
        if where is None:
            return None
        named = f"{address}" if host_address(host) == address else f"{host} resolves to {address}"
        return f"{named}, {where}: webhook targets inside the network are refused ({self.why})"


@lru_cache(maxsize=4096)
def refusal(policy: Policy, host: str, address: Address) -> str | None:
    """`policy.refusal`, remembered: the worker asks before every request it writes."""
    return policy.refusal(host, address)


REMEDY = (f"an operator may allow a host or range with {ALLOW_SETTING}; a receiver on a private network is "
          "reached with `sandbox listen`")


class Refused(OSError):
    """A target the policy refuses. An OSError, so that an HTTP client that opens the
    socket reports it as a connection error, in these words."""


class Unresolved(OSError):
    """A name the resolver has no address for."""


async def resolve(host: str, port: int) -> list[Address]:
    """Every address `host` resolves to, by the system's resolver (as the clients dial)."""
    literal = host_address(host)
    if literal is not None:
        return [literal]
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Unresolved(f"{host} does not resolve ({exc})") from None
    seen: list[Address] = []
    for *_, sockaddr in infos:
        address = host_address(str(sockaddr[0]))
        if address is not None and address not in seen:
            seen.append(address)
    return seen


async def permitted_addresses(policy: Policy, host: str, port: int) -> list[Address]:
    """Every address `host` resolves to, or Refused (naming the first refused) if any is."""
    addresses = await resolve(host, port)
    for address in addresses:
        why = policy.refusal(host, address)
        if why is not None:
            raise Refused(why)
    return addresses
