"""The processes of a running `sandbox up`, kept by it in its data dir (`processes.json`, as
PostgreSQL keeps `postmaster.pid`) for `sandbox status`: its own pid, each part's (the API,
the IPN, the worker, and the embedded PostgreSQL and Redis when it runs them), and where to
ask them. Written once every part has started and again after each restart, with one
rename (a reader never sees half a file); removed when `up` stops. A killed `up` leaves it:
a reader checks that the supervisor it names still runs.

No secret goes in it: the API's and IPN's local URLs, and the Redis URL only when it is the
embedded server's socket (a SANDBOX_REDIS_URL may hold a password: `sandbox status` reads
that from its own environment)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import msgspec

FILE = "processes.json"


class Recorded(msgspec.Struct):
    pids: dict[str, int | None]  # part -> pid ("supervisor", "api", "ipn", "worker", "postgres", "redis")
    api_url: str  # e.g. http://127.0.0.1:8000
    ipn_url: str
    redis_url: str | None  # the embedded server's (a Unix socket), else None


def write(data_dir: Path, recorded: Recorded) -> None:
    path = data_dir / FILE
    tmp = path.with_name(f"{FILE}.{os.getpid()}.tmp")
    tmp.write_bytes(msgspec.json.encode(recorded))
    os.replace(tmp, path)


def read(data_dir: Path) -> Recorded | None:
    """What the last `up` on `data_dir` recorded, or None: none ran, or it stopped."""
    try:
        return msgspec.json.decode((data_dir / FILE).read_bytes(), type=Recorded)
    except (OSError, msgspec.DecodeError):
        return None


def remove(data_dir: Path) -> None:
    with contextlib.suppress(OSError):
        (data_dir / FILE).unlink()
