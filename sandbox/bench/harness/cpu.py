"""Where the machine's CPU went during a bench phase, by process kind: the API, the worker,
the IPN, the webhook receiver, PostgreSQL (every backend), Redis, and the bench itself with
the wrk runs it waited for. Read from the kernel's counters (psutil) at the phase's start
and end; `other` is what the rest of the machine used meanwhile.

Shown as cores busy on average (2.0 is both cores of the build machine all the time), so a
soak's report says which process the cores went to when something falls behind.

Beside it, where Linux tells (`/proc/<pid>/task/*/schedstat`, `/proc/pressure/cpu`), the time
each kind spent ready to run but waiting for a core, in the same unit (1.0: one thread
waiting all the time), and the share of the time some task of the machine waited. On a
full machine this is where a request's latency grows: each of its hops (the API, Redis,
PostgreSQL and back) waits its turn for a core.

`reference_ms` says how fast the machine runs Python at the run's start, so that figures
from different evenings (the build machines of one kind differ by two or three times) can
be told apart from changes in the code."""

from __future__ import annotations

import contextlib
import os
import statistics
import time
import timeit
from dataclasses import dataclass

import psutil

from sandbox.processes.titles import part_of

_SANDBOX_KINDS = ("api", "worker", "ipn")


@dataclass
class Reading:
    at: float
    machine: float  # CPU seconds of every process since boot (idle and iowait left out)
    by_pid: dict[int, tuple[str, float]]  # pid: (kind, CPU seconds)
    # CPU seconds of the children each kind's processes have reaped: where a PostgreSQL
    # backend's time goes when its connection closes (the pools let idle ones go).
    reaped: dict[str, float]
    bench: float  # this process and the children it waited for (wrk; never read live, so never twice)
    waited: dict[int, float]  # pid: seconds its threads spent ready to run, waiting for a core
    stalled: float | None  # seconds some task of the machine waited for a core (PSI), None unknown


# A fixed loop of the interpreter's commonest work (a generator, integer arithmetic, a
# builtin over it): 102 ms for ten of them on the build machine of 27 Nov, night.
_REFERENCE = "sum(i * i for i in range(100_000))"


def reference_ms() -> float:
    """The median of five timings of ten `_REFERENCE` loops, in ms, on one core: taken
    before the run starts anything, it reads the machine, not the sandbox. Larger is slower."""
    return round(statistics.median(timeit.repeat(_REFERENCE, number=10, repeat=5)) * 1000, 1)


def _kind(proc: psutil.Process) -> str | None:
    name = proc.name()
    if name.startswith("postgres"):
        return "postgres"
    if "redis" in name:
        return "redis"
    cmdline = proc.cmdline()
    if "sandbox.bench.servers.receiver" in cmdline:
        return "receiver"
    # A part of the sandbox says what it is in its title (sandbox/processes/titles.py); its
    # command line, until it has set one.
    if (part := part_of(" ".join(cmdline).strip())) is not None:
        return part if part in _SANDBOX_KINDS else None
    if "sandbox.cli" in cmdline:
        kind = cmdline[cmdline.index("sandbox.cli") + 1] if cmdline[-1] != "sandbox.cli" else ""
        return kind if kind in _SANDBOX_KINDS else None
    return None


def _ours(postmaster: int | None) -> set[int]:
    """This bench's processes: its own children and theirs (the API, the worker, the IPN,
    the receiver, Redis), and its PostgreSQL, which `pg_ctl` started apart, with its
    backends. Another sandbox on the machine (another test process's, say) is `other`: its
    servers come and go, and with them the CPU their parents had reaped."""
    pids = {os.getpid(), *(child.pid for child in psutil.Process().children(recursive=True))}
    if postmaster is not None:
        with contextlib.suppress(psutil.NoSuchProcess):
            server = psutil.Process(postmaster)
            pids |= {postmaster, *(child.pid for child in server.children(recursive=True))}
    return pids


def run_delay(pid: int) -> float | None:
    """Seconds the process's threads have waited for a core, ready to run, since each
    started (the second field of each thread's schedstat); None where Linux does not say."""
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None
    total = 0.0
    for tid in tids:
        with contextlib.suppress(OSError, ValueError, IndexError):
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[1]) / 1e9
    return total


def _stalled() -> float | None:
    """Seconds since boot some task waited for a core (the `some` line of /proc/pressure/cpu)."""
    try:
        with open("/proc/pressure/cpu") as f:
            some = f.readline().split()
        return int(some[-1].removeprefix("total=")) / 1e6
    except (OSError, ValueError, IndexError):
        return None


def read(postmaster: int | None = None) -> Reading:
    """`postmaster`: the pid of the bench's PostgreSQL (its backends are counted with it)."""
    by_pid: dict[int, tuple[str, float]] = {}
    reaped: dict[str, float] = {}
    waited: dict[int, float] = {}
    ours = _ours(postmaster)
    for proc in psutil.process_iter():
        if proc.pid not in ours:
            continue
        try:
            kind = _kind(proc)
            if kind is not None:
                t = proc.cpu_times()
                by_pid[proc.pid] = (kind, t.user + t.system)
                reaped[kind] = reaped.get(kind, 0.0) + t.children_user + t.children_system
                if (delay := run_delay(proc.pid)) is not None:
                    waited[proc.pid] = delay
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    machine = psutil.cpu_times()
    own = psutil.Process(os.getpid()).cpu_times()
    return Reading(at=time.monotonic(),
                   machine=machine.user + machine.nice + machine.system + getattr(machine, "irq", 0.0)
                   + getattr(machine, "softirq", 0.0) + getattr(machine, "steal", 0.0),
                   by_pid=by_pid, reaped=reaped, bench=own.user + own.system + own.children_user + own.children_system,
                   waited=waited, stalled=_stalled())


def _on_average(seconds_by_kind: dict[str, float], seconds: float) -> dict[str, float]:
    """Seconds used (or waited) over `seconds`, as cores (or threads) on average, largest first."""
    return {kind: round(v / seconds, 2) for kind, v in sorted(seconds_by_kind.items(), key=lambda kv: -kv[1])}


def _listed(by_kind: dict[str, float], total: str) -> str:
    return ", ".join(f"{kind} {v:.2f}" for kind, v in by_kind.items() if kind != total)


def cores(before: Reading, after: Reading) -> dict[str, float]:
    """Cores busy on average between the readings, by kind, with `other` and `machine`. A
    process that ended in between (a PostgreSQL backend whose connection closed) is counted
    through its parent's reaped children, less what the first reading had seen of it."""
    seconds = max(after.at - before.at, 1e-6)
    used: dict[str, float] = {}
    for pid, (kind, cpu) in after.by_pid.items():
        start = before.by_pid[pid][1] if pid in before.by_pid else 0.0
        used[kind] = used.get(kind, 0.0) + (cpu - start)
    for kind, cpu in after.reaped.items():
        used[kind] = used.get(kind, 0.0) + cpu - before.reaped.get(kind, 0.0)
    for pid, (kind, cpu) in before.by_pid.items():
        if pid not in after.by_pid:  # now in its parent's reaped time, whole
            used[kind] = used.get(kind, 0.0) - cpu
    used["bench"] = used.get("bench", 0.0) + (after.bench - before.bench)
    machine = after.machine - before.machine
    used["other"] = max(machine - sum(used.values()), 0.0)
    out = _on_average(used, seconds)
    out["machine"] = round(machine / seconds, 2)
    return out


def waiting(before: Reading, after: Reading) -> dict[str, float]:
    """Threads waiting for a core on average between the readings, by kind (processes seen
    by both readings: a backend that came or went in between is left out), and `stalled`,
    the share of the time some task of the machine waited. Empty where Linux does not say."""
    seconds = max(after.at - before.at, 1e-6)
    waited: dict[str, float] = {}
    for pid, delay in after.waited.items():
        if pid in before.waited and pid in after.by_pid:
            kind = after.by_pid[pid][0]
            waited[kind] = waited.get(kind, 0.0) + delay - before.waited[pid]
    if not waited:
        return {}
    out = _on_average(waited, seconds)
    if before.stalled is not None and after.stalled is not None:
        out["stalled"] = round(min((after.stalled - before.stalled) / seconds, 1.0), 2)
    return out


def render_waiting(by_kind: dict[str, float]) -> str:
    stalled = by_kind.get("stalled")
    share = f"; some task waiting {stalled:.0%} of the time" if stalled is not None else ""
    return _listed(by_kind, "stalled") + share


def render(by_kind: dict[str, float]) -> str:
    return f"{_listed(by_kind, 'machine')}; machine {by_kind['machine']:.2f} of {psutil.cpu_count()}"
