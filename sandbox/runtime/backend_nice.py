"""A pool's PostgreSQL server processes at the niceness of the process that uses them.

`SANDBOX_WORKER_NICE` lowers the worker's scheduling priority so that, on cores the API
and the worker share, a worker working through a backlog leaves the API's answers their
CPU. About half of what the worker does runs in PostgreSQL, in the server processes
(backends) serving its connections, which its own niceness does not reach. `for_pool(n)`
is an asyncpg `init` hook that gives each new connection's backend niceness n too.

Only where that backend is a process of this machine that this user may renice: the
connection is over a Unix socket (a TCP server may be another host or another PID
namespace, where the pid names someone else) and the pid is a `postgres` process here.
Anything else leaves the backend as it is: a lower priority is a wish, never a failure.

Lowering a process's priority needs no capability when it is one's own; another user's
needs CAP_SYS_NICE. Under root the embedded server runs as a user of its own
(PostgreSQL refuses root), and a root container gets no CAP_SYS_NICE from Docker or
Podman by default (it does get CAP_SETUID, which the embedded server's own start needs):
there the backend is reniced by a short-lived process running as the server's user.
Where neither works (a server of another user, reached by a user who is not root), the
backends stay at 0 and the worker's own niceness is all the API gets: `refused` says
why, the worker logs it and `sandbox status` shows it."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import asyncpg

log = logging.getLogger("sandbox.db")

# Run as the server's user, with nothing of the installation imported (-I -S): a few ms.
_RENICE = "import os, sys; os.setpriority(os.PRIO_PROCESS, int(sys.argv[1]), int(sys.argv[2]))"
RENICE_TIMEOUT_S = 10.0


class Refusals:
    """Why this process's last backend was left at its priority, in words (None: every one
    so far was reniced); said once in the log, as a warning."""

    last: str | None = None


def for_pool(nice: int, dsn: str) -> Callable[[asyncpg.Connection], Awaitable[None]] | None:
    """The pool's `init` hook for niceness `nice` (1–19) on the server `dsn` names; None
    where there is nothing to do (0, or a server reached over TCP)."""
    nice = min(max(nice, 0), 19)
    if not nice or not over_unix_socket(dsn):
        return None

    async def renice(connection: asyncpg.Connection) -> None:
        pid = await connection.fetchval("SELECT pg_backend_pid()")
        if pid is None:
            return
        # In a thread: where the backend is another user's, a process of that user renices it.
        why = await asyncio.to_thread(renice_backend, pid, nice)
        said = None if why is None else (
            f"its PostgreSQL server processes run at the server's priority, and only the worker itself at "
            f"niceness {nice}: {why}")
        if said is not None and Refusals.last is None:
            log.warning("the worker: %s", said)
        Refusals.last = said

    return renice


def over_unix_socket(dsn: str) -> bool:
    """True when `dsn` names its server by a socket's folder (`?host=/path`, or a host
    part that is one): a server of this machine."""
    parts = urlsplit(dsn)
    hosts = parse_qs(parts.query).get("host", []) or [unquote(parts.hostname or "")]
    return bool(hosts) and all(host.startswith("/") for host in hosts)


def renice_backend(pid: int, nice: int) -> str | None:
    """Set the niceness of PostgreSQL backend `pid`, if it is a postgres process of this
    machine that this user may renice; None once set, else why it was left as it is."""
    try:
        if not Path(f"/proc/{pid}/cmdline").read_bytes().startswith(b"postgres"):
            return f"process {pid} is not a PostgreSQL server process"
        owner = os.stat(f"/proc/{pid}")
        try:
            os.setpriority(os.PRIO_PROCESS, pid, nice)
            return None
        except PermissionError:
            if os.geteuid() != 0:
                return (f"its server runs as user {owner.st_uid}, and this process (user {os.geteuid()}) may "
                        "lower the priority of its own processes only")
        return _as_owner(pid, nice, owner.st_uid, owner.st_gid)
    except OSError as exc:  # gone, or /proc absent
        log.debug("backend %s left at its priority (%s)", pid, exc)
        return f"process {pid} could not be read ({exc})"


def _as_owner(pid: int, nice: int, uid: int, gid: int) -> str | None:
    """Root without CAP_SYS_NICE: renice `pid` from a process running as its owner."""
    try:
        done = subprocess.run([sys.executable, "-I", "-S", "-c", _RENICE, str(pid), str(nice)],
                              user=uid, group=gid, extra_groups=[], capture_output=True, text=True,
                              timeout=RENICE_TIMEOUT_S, check=False)
    except (OSError, subprocess.SubprocessError) as exc:  # no CAP_SETUID either, or no interpreter to run
        return (f"its server runs as user {uid}, and this root process has neither CAP_SYS_NICE nor a way to "
                f"act as that user ({exc})")
    if done.returncode != 0:
        return f"its server runs as user {uid}, and a process as that user could not renice it: {done.stderr.strip()}"
    return None
