"""Who a request over HTTP comes from, as a name no request can change: what a client's
share of the server (sessions, merchants) is counted against (sandbox/mcp/shares.py).

- Beyond loopback: the holder of the bearer token it carried (every request beyond
  loopback carries one, sandbox/mcp/http.py). A new address or a new session is the same
  holder.
- On loopback: the process at the other end of the TCP connection, read from the
  kernel (/proc/net/tcp and /proc/PID/fd, on Linux): two agents on one machine are two
  clients, and 127.0.0.2 or a new connection is the same process. Where the kernel does
  not say (another OS, a process of another user whose descriptors this one cannot
  read), the peer's user, else its address.

Never a header the client sends (X-Forwarded-For, Mcp-Session-Id): those it could change
on every request to escape its bound."""

from __future__ import annotations

import hashlib
import ipaddress
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

PROC = Path("/proc")
REMEMBERED_S = 10.0  # a connection's process is read once in this long: a port is not reused sooner
_TABLES = ("net/tcp", "net/tcp6")


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
    def __init__(self, proc: Path = PROC, clock=time.monotonic) -> None:
        self._proc = proc
        self._clock = clock
        self._seen: dict[tuple[str, int, int], tuple[float, str]] = {}  # (host, port, our port) -> (when, name)
        self._sockets: dict[str, int] = {}  # socket inode -> pid, from the last scan

    def who(self, scope: Mapping[str, Any]) -> str:
        """The name of the client that sent the request of this ASGI `scope`."""
        host, port = (scope.get("client") or ("an unknown address", 0))[:2]
        if not loopback(host):
            authorization = dict(scope.get("headers") or []).get(b"authorization")
            return bearer_holder(authorization) if authorization else f"address {host}"
        ours = (scope.get("server") or ("", 0))[1] or 0
        key = (host, port, ours)
        now = self._clock()
        known = self._seen.get(key)
        if known is not None and now - known[0] < REMEMBERED_S:
            return known[1]
        name = self._process(port, ours) or f"address {host}"
        if len(self._seen) > 4096:  # connections come and go: keep only the recent ones
            self._seen = {k: v for k, v in self._seen.items() if now - v[0] < REMEMBERED_S}
        self._seen[key] = (now, name)
        return name

    def _process(self, port: int, ours: int) -> str | None:
        found = self._socket(port, ours)
        if found is None:
            return None
        inode, uid = found
        pid = self._sockets.get(inode)
        if pid is None:
            self._sockets = self._scan()
            pid = self._sockets.get(inode)
        return f"process {pid}" if pid is not None else f"user {uid}"

    def _socket(self, port: int, ours: int) -> tuple[str, str] | None:
        """The inode and user of the client's end: the socket whose own port is the peer's
        and whose remote port is ours."""
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

    def _scan(self) -> dict[str, int]:
        """Every socket inode this process may see, with the pid holding it."""
        found: dict[str, int] = {}
        try:
            pids = [p for p in os.listdir(self._proc) if p.isdigit()]
        except OSError:
            return found
        for pid in pids:
            try:
                fds = os.listdir(self._proc / pid / "fd")
            except OSError:
                continue
            for fd in fds:
                try:
                    target = os.readlink(self._proc / pid / "fd" / fd)
                except OSError:
                    continue
                if target.startswith("socket:["):
                    found[target[8:-1]] = int(pid)
        return found
