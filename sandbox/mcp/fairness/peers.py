"""Who a request over HTTP comes from, as a name no request can change: what a client's
share of the server (sessions, merchants) is counted against (sandbox/mcp/fairness/shares.py).

- Beyond loopback: the holder of the bearer token it carried (every request beyond
  loopback carries one, sandbox/mcp/http.py). A new address or a new session is the same
  holder.
- On loopback: the process at the other end of the TCP connection, read from the
  kernel (its socket by netlink's sock_diag, the process holding it from /proc/PID/fd,
  on Linux; `Peers` says what that costs per connection): two agents on one machine are two
  clients, and 127.0.0.2 or a new connection is the same process. Where the kernel does
  not say (another OS, a process of another user whose descriptors this one cannot
  read), the peer's user, else its address.

Never a header the client sends (X-Forwarded-For, Mcp-Session-Id): those it could change
on every request to escape its bound."""

from __future__ import annotations

import hashlib
import ipaddress
import os
import socket
import struct
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import anyio

PROC = Path("/proc")
REMEMBERED_S = 10.0  # a socket's process is read once in this long (a socket is one connection's)
_TABLES = ("net/tcp", "net/tcp6")
MOST_KNOWN = 64  # client processes whose descriptors are looked through before a scan of /proc
# sock_diag (linux/sock_diag.h, linux/inet_diag.h): one socket asked for by its addresses and ports.
_NETLINK_SOCK_DIAG = 4
_SOCK_DIAG_BY_FAMILY = 20
_NLM_F_REQUEST = 1


def loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bearer_holder(authorization: bytes) -> str:
    """The token's holder, named by a digest of what it sent (never the token itself)."""
    return "token " + hashlib.sha256(authorization).hexdigest()[:12]


class Peers:
    """Names the client of each connection. Per request, on loopback: one netlink question
    to the kernel for the client's socket (its inode and user; the /proc/net tables are
    read only where netlink does not answer), then, for a socket not seen lately, the pid
    holding that inode,
    looked for first among the processes already known as clients (a client opening a new
    connection is, nearly always, one of them: the cost is that process's descriptors, not
    the machine's processes). Only a process never seen before costs a scan of /proc, and
    that scan, like every read of /proc here, runs in a worker thread: the event loop serving
    every other client never waits on it."""

    def __init__(self, proc: Path = PROC, clock=time.monotonic) -> None:
        self._proc = proc
        self._clock = clock
        # The client's socket (its inode) -> (when, name). Not its address and port: a port the
        # server closed first is free at once on the client's side, and another process's next
        # connection may take it (the polite client then went by the greedy one's name, and was
        # refused at its cap). An inode is one socket's, and the kernel does not hand it out again.
        self._seen: dict[str, tuple[float, str]] = {}
        self._known: dict[int, None] = {}  # pids named lately, the latest last: where a new socket is looked for first
        self._scanning = threading.Lock()
        self._unreadable: dict[str, float] = {}  # uid -> when a scan last found none of its sockets' holders

    async def who(self, scope: Mapping[str, Any]) -> str:
        """The name of the client that sent the request of this ASGI `scope`."""
        host, port = (scope.get("client") or ("an unknown address", 0))[:2]
        if not loopback(host):
            authorization = dict(scope.get("headers") or []).get(b"authorization")
            return bearer_holder(authorization) if authorization else f"address {host}"
        ours_host, ours = (scope.get("server") or ("", 0))[:2]
        name = await anyio.to_thread.run_sync(self.process_of, host, port, ours_host or host, ours or 0)
        return name or f"address {host}"

    def process_of(self, host: str, port: int, ours_host: str, ours: int) -> str | None:
        """The client's process (else its user), from the kernel; blocking: called off the loop.
        Each request asks the kernel which socket it came on (one netlink question); only a
        socket not seen lately is looked for among the processes."""
        found = _diag(host, port, ours_host, ours) or self._socket(port, ours)
        if found is None:
            return None
        inode, uid = found
        now = self._clock()
        known = self._seen.get(inode)
        if known is not None and now - known[0] < REMEMBERED_S:
            return known[1]
        name = self._name(inode, uid)
        if len(self._seen) > 4096:  # connections come and go: keep only the recent ones
            self._seen = {k: v for k, v in list(self._seen.items()) if now - v[0] < REMEMBERED_S}
        self._seen[inode] = (now, name)
        return name

    def _name(self, inode: str, uid: str) -> str:
        if self._unreadable.get(uid, -REMEMBERED_S) > self._clock() - REMEMBERED_S:
            return f"user {uid}"  # its processes' descriptors were not readable just now: no scan per connection
        pid = self._holder(inode)
        if pid is None:
            if uid != str(os.getuid()):  # another user's (a process of ours gone since is no reason to stop looking)
                self._unreadable[uid] = self._clock()
            return f"user {uid}"
        return f"process {pid}"

    def _holder(self, inode: str) -> int | None:
        """The pid holding socket `inode`: the known clients' processes first (latest first),
        then, for a process never seen, every process there is: one scan at a time (a burst
        of a new client's connections scans once; the others find it known by then)."""
        target = f"socket:[{inode}]"
        checked: set[int] = set()

        def among_known() -> int | None:
            for pid in reversed(list(self._known)):
                if pid not in checked:
                    checked.add(pid)
                    if self._holds(pid, target):
                        self._remember(pid)
                        return pid
            return None

        found = among_known()
        if found is not None:
            return found
        with self._scanning:
            found = among_known()  # known since, by a scan another connection made
            if found is not None:
                return found
            try:
                pids = [int(p) for p in os.listdir(self._proc) if p.isdigit()]
            except OSError:
                return None
            for pid in pids:
                if pid not in checked and self._holds(pid, target):
                    self._remember(pid)
                    return pid
        return None

    def _holds(self, pid: int, target: str) -> bool:
        fds = self._proc / str(pid) / "fd"
        try:
            names = os.listdir(fds)
        except OSError:
            return False
        for fd in names:
            try:
                if os.readlink(fds / fd) == target:
                    return True
            except OSError:
                continue
        return False

    def _remember(self, pid: int) -> None:
        self._known.pop(pid, None)
        self._known[pid] = None
        while len(self._known) > MOST_KNOWN:
            del self._known[next(iter(self._known))]

    def _socket(self, port: int, ours: int) -> tuple[str, str] | None:
        """The inode and user of the client's end, from the /proc/net tables (where netlink
        does not answer): the socket whose own port is the peer's and whose remote port is ours."""
        want_local, want_remote = f":{port:04X}", f":{ours:04X}"
        for table in _TABLES:
            try:
                lines = (self._proc / table).read_text().splitlines()[1:]
            except OSError:
                continue
            for line in lines:
                fields = line.split()
                if len(fields) > 9 and fields[1].endswith(want_local) and fields[2].endswith(want_remote):
                    return fields[9], fields[7]
        return None


def _diag(host: str, port: int, ours_host: str, ours: int) -> tuple[str, str] | None:
    """The (inode, uid) of the client's socket, by one exact lookup in the kernel's socket
    table (sock_diag over netlink, as `ss` asks: no dump, no table read whole); None where
    netlink is not there (another OS) or does not know the socket."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        src = socket.inet_pton(family, host.strip("[]")).ljust(16, b"\0")
        dst = socket.inet_pton(family, ours_host.strip("[]")).ljust(16, b"\0")
        request = struct.pack("=BBBBI", family, socket.IPPROTO_TCP, 0, 0, 0xFFFFFFFF)
        request += struct.pack(">HH", port, ours) + src + dst + struct.pack("=III", 0, 0xFFFFFFFF, 0xFFFFFFFF)
        header = struct.pack("=IHHII", 16 + len(request), _SOCK_DIAG_BY_FAMILY, _NLM_F_REQUEST, 1, 0)
        with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, _NETLINK_SOCK_DIAG) as link:
            link.settimeout(1.0)
            link.send(header + request)
            answer = link.recv(8192)
    except (OSError, ValueError, AttributeError):
        return None
    if len(answer) < 16 + 72 or struct.unpack_from("=H", answer, 4)[0] != _SOCK_DIAG_BY_FAMILY:
        return None  # NLMSG_ERROR: no such socket
    uid, inode = struct.unpack_from("=II", answer, 16 + 64)
    return str(inode), str(uid)
