"""A pool's PostgreSQL server processes at the niceness of the process that uses them.

`SANDBOX_WORKER_NICE` lowers the worker's scheduling priority so that, on cores the API
and the worker share, a worker working through a backlog leaves the API's answers their
CPU. About half of what the worker does runs in PostgreSQL, in the server processes
(backends) serving its connections, which its own niceness does not reach. `for_pool(n)`
is an asyncpg `init` hook that gives each new connection's backend niceness n too.

Only where that backend is a process of this machine that this user may renice: the
connection is over a Unix socket (a TCP server may be another host or another PID
namespace, where the pid names someone else) and the pid is a `postgres` process here.
Anything else leaves the backend as it is: a lower priority is a wish, never a failure."""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import asyncpg

log = logging.getLogger("sandbox.db")


def for_pool(nice: int, dsn: str) -> Callable[[asyncpg.Connection], Awaitable[None]] | None:
    """The pool's `init` hook for niceness `nice` (1–19) on the server `dsn` names; None
    where there is nothing to do (0, or a server reached over TCP)."""
    nice = min(max(nice, 0), 19)
    if not nice or not over_unix_socket(dsn):
        return None

    async def renice(connection: asyncpg.Connection) -> None:
        pid = await connection.fetchval("SELECT pg_backend_pid()")
        if pid is not None:
            renice_backend(pid, nice)

    return renice


def over_unix_socket(dsn: str) -> bool:
    """True when `dsn` names its server by a socket's folder (`?host=/path`, or a host
    part that is one): a server of this machine."""
    parts = urlsplit(dsn)
    hosts = parse_qs(parts.query).get("host", []) or [unquote(parts.hostname or "")]
    return bool(hosts) and all(host.startswith("/") for host in hosts)


def renice_backend(pid: int, nice: int) -> bool:
    """Set the niceness of PostgreSQL backend `pid`, if it is a postgres process of this
    machine that this user may renice; True if it was set."""
    try:
        if not Path(f"/proc/{pid}/cmdline").read_bytes().startswith(b"postgres"):
            return False
        os.setpriority(os.PRIO_PROCESS, pid, nice)
    except OSError as exc:  # gone, /proc absent, or not ours to renice
        log.debug("backend %s left at its priority (%s)", pid, exc)
        return False
    return True
