"""Where a process's memory grows, for finding a leak or an unbounded queue under load:
`SANDBOX_DEBUG_MEMORY_EVERY_S=30 sandbox worker` traces allocations with tracemalloc
and, every that many seconds, writes the allocation sites that grew most since the
first snapshot (size, count, and the frames that made them) to
`<data dir>/memory-<pid>.txt`, newest report last. Tracing costs the process a good part
of its speed: a debugging aid, never on by default."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import tracemalloc
from pathlib import Path

FRAMES = 6  # enough to see which of our functions called the library that allocated
TOP = 25


def report(first: tracemalloc.Snapshot, current: tracemalloc.Snapshot, elapsed_s: float) -> str:
    current_total = sum(s.size for s in current.statistics("filename"))
    first_total = sum(s.size for s in first.statistics("filename"))
    lines = [f"--- after {elapsed_s:.0f} s: traced {current_total / 1e6:.1f} MB "
             f"({(current_total - first_total) / 1e6:+.1f} MB since the first snapshot)"]
    for stat in current.compare_to(first, "traceback")[:TOP]:
        lines.append(f"{stat.size_diff / 1e6:+8.2f} MB {stat.count_diff:+9d} blocks "
                     f"(now {stat.size / 1e6:.2f} MB in {stat.count})")
        lines.extend(f"      {line.strip()}" for line in stat.traceback.format(most_recent_first=True))
    return "\n".join(lines) + "\n"


class MemoryReports:
    """Started once per process; a task that snapshots every `every_s` seconds."""

    def __init__(self, every_s: float, data_dir: Path) -> None:
        self.every_s = every_s
        self.path = data_dir / f"memory-{os.getpid()}.txt"
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        tracemalloc.start(FRAMES)
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        started = time.monotonic()
        filters = [tracemalloc.Filter(False, tracemalloc.__file__)]
        first = tracemalloc.take_snapshot().filter_traces(filters)
        while True:
            await asyncio.sleep(self.every_s)  # a report's interval, not a wait for a condition
            current = tracemalloc.take_snapshot().filter_traces(filters)
            with self.path.open("a") as out:
                out.write(report(first, current, time.monotonic() - started))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        tracemalloc.stop()
