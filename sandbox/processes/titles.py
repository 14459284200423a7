"""Process titles, the kind PostgreSQL gives its processes (`postgres: checkpointer`): every
process of the sandbox shows in `ps`, `top -c` and /proc/<pid>/cmdline as `mypay-sandbox: `
and what it is, so a person or a script tells the API from the worker without reading its
parent. `sandbox up` forks its parts from itself, so without a title each showed `up`'s
command line.

    mypay-sandbox: supervisor        `sandbox up`
    mypay-sandbox: api :8000         the API, on the port it bound (with several API
    mypay-sandbox: api process 2     processes, the one that bound it and each it forked)
    mypay-sandbox: ipn :8001         the IPN service
    mypay-sandbox: worker            the arq worker

The short name in /proc/<pid>/comm (what `ps -e`, `top` and `pgrep` without -f read, at
most 15 bytes) stays `sandbox-api`, `sandbox-ipn`, `sandbox-worker`: setproctitle would
leave the title's first 15 bytes there, the same for every process (`up` itself is
`sandbox-up`)."""

from __future__ import annotations

import contextlib
import ctypes
import functools

from setproctitle import setproctitle

PREFIX = "mypay-sandbox: "
PARTS = ("supervisor", "api", "ipn", "worker")
COMM = {"supervisor": "sandbox-up"}  # the short name where `sandbox-<part>` would not fit
PR_SET_NAME = 15  # prctl(2): the thread's name, /proc/<pid>/comm


def title(part: str, port: int | None = None, process: int | None = None) -> str:
    """`mypay-sandbox: api :8000`, `mypay-sandbox: api process 2`, `mypay-sandbox: worker`."""
    return PREFIX + part + (f" process {process}" if process is not None else "") + (f" :{port}" if port else "")


def set_title(part: str, port: int | None = None, process: int | None = None) -> None:
    setproctitle(title(part, port, process))
    _name(COMM.get(part, f"sandbox-{part}"))


def part_of(cmdline: str) -> str | None:
    """The part a process's command line (its title, as /proc/<pid>/cmdline or `ps` shows it)
    names, or None when it is not one of the sandbox's titled processes."""
    if not cmdline.startswith(PREFIX):
        return None
    part = cmdline[len(PREFIX):].split(" ", 1)[0]
    return part if part in PARTS else None


def _name(name: str) -> None:
    """/proc/<pid>/comm (Linux; at most 15 bytes)."""
    with contextlib.suppress(Exception):
        _libc().prctl(PR_SET_NAME, name.encode()[:15])


@functools.cache
def _libc() -> ctypes.CDLL:
    """Loaded once (200 us a load here), by `up` before it forks: its children have it."""
    return ctypes.CDLL("libc.so.6", use_errno=True)
