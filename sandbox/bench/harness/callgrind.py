"""A child process run under valgrind's callgrind with counting off until asked: the cost
bench's way of counting instructions that do not move with the machine's load.

The process starts with instrumentation off (`--instr-atstart=no`: it runs some 5x slower
than natively, not 50x, while it imports and warms up). A window turns it on
(`callgrind_control -i on`), runs the given step, turns it off and dumps the counters
(`callgrind_control -d`), and reads the dump's total. A process under valgrind keeps its
timers and background tasks running while a window is open, and a busy machine stretches
the window: the cost bench holds them still (sandbox/bench/servers/counted.py), and what
idle work is left is subtracted, a window's count taken less the process's idle
instructions over the same seconds (its idle rate, counted in a window of its own with
nothing asked of it)."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sandbox.bench.harness.procs import spawn

# PYTHONMALLOC=malloc: CPython's own allocator hides its work from valgrind in arenas it
# manages itself; with the C library's malloc every allocation is counted as what it costs.
# PYTHONHASHSEED=0: a string's hash, and so how many probes each dict and set lookup takes,
# the same in every run (with a random seed a hello-world request moved by 0.2 %).
VALGRIND_ENV = {"PYTHONMALLOC": "malloc", "PYTHONHASHSEED": "0"}
# How long a counted process keeps what it would otherwise redo by the clock (kept
# connections, the log writer's sleep; sandbox/bench/servers/counted.py): longer than any run.
HELD_S = 3600.0
_TOTALS = re.compile(rb"^totals:\s+(\d+)", re.MULTILINE)


def found() -> bool:
    return bool(shutil.which("valgrind") and shutil.which("callgrind_control"))


@dataclass
class Window:
    instructions: int  # counted, idle included
    seconds: float


@dataclass
class Counted:
    """A process under callgrind; `window(step)` counts what it does during `step()`."""

    name: str
    pid: int
    out_dir: Path  # where its dumps are written, `<name>.out.<n>`
    proc: subprocess.Popen | None = None  # when started here
    idle_per_s: float = 0.0
    _dumps: int = 0

    @classmethod
    def start(cls, name: str, argv: list[str], env: dict, log: Path, out_dir: Path) -> Counted:
        out_dir.mkdir(parents=True, exist_ok=True)
        command = ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--dump-instr=no",
                   f"--callgrind-out-file={out_dir / name}.out", *argv]
        proc = spawn(command, {**env, **VALGRIND_ENV}, log)
        return cls(name, proc.pid, out_dir, proc)

    @classmethod
    def attach(cls, name: str, pid: int, out_dir: Path) -> Counted:
        """A process already under callgrind, started elsewhere (a PostgreSQL backend,
        sandbox/bench/harness/pg_callgrind.py), whose dumps are `<name>.out.<n>`."""
        return cls(name, pid, out_dir)

    def _control(self, *args: str) -> None:
        subprocess.run(["callgrind_control", *args, str(self.pid)], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=120)

    def open(self) -> float:
        self._control("-i", "on")
        return time.monotonic()

    def close(self, opened: float) -> Window:
        """Counting off, the counters dumped and read: the window since `opened`."""
        self._control("-i", "off")
        seconds = time.monotonic() - opened
        self._dumps += 1
        self._control("-d")
        return Window(read_dump(self.out_dir / f"{self.name}.out.{self._dumps}"), seconds)

    def window(self, step: Callable[[], object]) -> Window:
        opened = self.open()
        step()
        return self.close(opened)

    def count_idle(self, seconds: float) -> None:
        """The process's instructions a second with nothing asked of it."""
        idle = self.window(lambda: time.sleep(seconds))  # the idle window itself: nothing to wait for
        self.idle_per_s = idle.instructions / idle.seconds

    def less_idle(self, window: Window) -> float:
        return less_idle(window, self.idle_per_s)


def read_dump(dump: Path) -> int:
    """The instructions a dump counts, once callgrind has written it whole."""
    deadline = time.monotonic() + 60
    while not dump.exists() or not (match := _TOTALS.search(dump.read_bytes())):
        if time.monotonic() > deadline:
            raise TimeoutError(f"callgrind wrote no dump {dump}")
        time.sleep(0.05)  # polling for the file callgrind writes, bounded by the deadline
    return int(match.group(1))


def less_idle(window: Window, idle_per_s: float) -> float:
    """A window's count less the idle instructions of its seconds."""
    return max(0.0, window.instructions - idle_per_s * window.seconds)
