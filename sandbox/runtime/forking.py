"""`sandbox up` imports once what its API, IPN and worker processes all use at start,
while its PostgreSQL starts, then forks the three from itself: each starts with that
already in memory (shared until written) and imports only its own part. On two cores,
three fresh interpreters importing the same 800-odd modules each took the CPU the start
was waiting for. A process that dies later is started again as a fresh interpreter
(runner.Supervisor): by then nothing waits for it.

A forked child is a process as `subprocess` would start it: its own process group,
stdin from /dev/null, no file descriptor of `up`'s but its own gate's, the stop signals
as a new interpreter has them, and it dies with `up` (PDEATHSIG). It runs `sandbox
<command>` through the CLI's own entry, then exits without running anything of `up`'s
(`os._exit`: no atexit hook, no `finally` of the parent's frames). Its title says what it
is (`mypay-sandbox: worker`, sandbox/processes/titles.py), set by the command it runs
before anything else."""

from __future__ import annotations

import contextlib
import importlib
import os
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Mapping

# What all three use at start, and nothing only one of them uses (held by
# tests/spec/test_import_budget.py): the web framework and the database, Redis and queue
# layers, the payout engine (the API's writes, the worker's steps, the IPN's callbacks),
# the metrics every process flushes, the event loop, the start gate.
SHARED = (
    "litestar",
    "arq",
    "uvloop",
    "sandbox.db",
    "sandbox.enqueue",
    "sandbox.core.problem_answers",
    "sandbox.payouts.lifecycle.engine",
    "sandbox.payouts.lifecycle.writer",
    "sandbox.observability.metrics",
    "sandbox.runtime.start_gate",
    "sandbox.runtime.serving",
)


# The signals that stop `up` (runner.stop_signals_raise) and that a forked child resets.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

def preload() -> None:
    from sandbox.core import heap

    for module in SHARED:
        importlib.import_module(module)
    # Frozen here, once, rather than in each child: a child's own freeze (the API's and the
    # worker's, when they are ready) then collects only what the child built. Collecting
    # the inherited heap in each child took 40 ms of its start and wrote to every page of
    # it, which then stopped being shared.
    heap.freeze_startup_objects()


def name_process(command: str) -> None:
    """`mypay-sandbox: <command>` in `ps`, and `sandbox-<command>` in `top` and
    /proc/<pid>/comm; a server adds its port once it has bound it (serving.py)."""
    from sandbox.processes.titles import set_title

    set_title(command)


class Forked:
    """A forked child as `runner.Supervisor` keeps one: `pid`, `poll()`, `wait(timeout)`,
    `returncode`, as a `subprocess.Popen` has them."""

    def __init__(self, pid: int, argv: list[str]) -> None:
        self.pid = pid
        self.args = argv
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            with contextlib.suppress(ChildProcessError):
                pid, status = os.waitpid(self.pid, os.WNOHANG)
                if pid:
                    self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(self.args, timeout or 0)
            time.sleep(0.01)
        assert self.returncode is not None  # poll() set it
        return self.returncode


def fork(command: str, env: Mapping[str, str], keep_fd: int | None, entry: Callable[[list[str]], int]) -> Forked:
    """Fork `sandbox <command>` (the child runs `entry([command])`, the CLI's main) with
    `env` as its environment, keeping `keep_fd` (its start gate) of `up`'s descriptors.
    Only from a process with no other thread running."""
    # Blocked across the fork: a stop signal meant for `up` must not run `up`'s handler
    # (which raises Shutdown) in the child before the child has put the defaults back.
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:
        _child(command, env, keep_fd, parent, blocked, entry)  # never returns
    with contextlib.suppress(OSError):  # the child does the same; whichever comes first
        os.setpgid(pid, pid)
    signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
    return Forked(pid, [sys.executable, "-m", "sandbox.cli", command])


def _child(command: str, env: Mapping[str, str], keep_fd: int | None, parent: int, blocked,
           entry: Callable[[list[str]], int]) -> None:
    code = 1
    try:
        from sandbox.runtime.embedded import _die_with_parent

        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.default_int_handler if sig == signal.SIGINT else signal.SIG_DFL)
        os.setpgid(0, 0)
        _die_with_parent()
        if os.getppid() != parent:  # `up` died before the line above
            os._exit(1)
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        for low, high in ((3, keep_fd), ((keep_fd or 2) + 1, os.sysconf("SC_OPEN_MAX"))):
            if high is not None and low < high:
                os.closerange(low, high)
        os.environ.clear()
        os.environ.update(env)
        sys.argv = [sys.argv[0], command]
        code = entry([command])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 - said, then this process ends here whatever it was
        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            from sandbox.observability import logs

            logs.flush()  # os._exit below runs no atexit handler
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)
