"""Process supervision for `sandbox up`, like a small process manager: start the child
processes, wait until the API answers, then keep every child and every embedded server
running — one that dies is started again after a back-off (0.5, 1, 2, 4 s) and a line on
stderr says so; after GIVE_UP_AFTER deaths of one of them within FAILURE_WINDOW_S, `up`
gives up and stops everything. Stopping is SIGTERM, then SIGKILL after a deadline.

Stop signals (SIGINT, SIGTERM, SIGHUP) raise `Shutdown` in the main thread, so a stop
request interrupts whatever `up` is doing, startup and restarts included; the caller's
`finally` then stops everything it started."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import subprocess
import time
import urllib.request
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NoReturn

from sandbox.processes.stderr import say_on_stderr
from sandbox.runtime.embedded import _die_with_parent
from sandbox.runtime.forking import STOP_SIGNALS, Forked

RESTART_DELAYS_S = (0.5, 1.0, 2.0, 4.0)  # after the 1st, 2nd, ... death within the window
GIVE_UP_AFTER = 5  # deaths of one child or server within FAILURE_WINDOW_S
FAILURE_WINDOW_S = 60.0


class Shutdown(BaseException):
    """A stop signal arrived (BaseException: nothing on the way may swallow it)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_shutdown(signum: int, _frame) -> None:
    raise Shutdown(signum)


@contextlib.contextmanager
def stop_signals_raise() -> Iterator[None]:
    """Inside: a stop signal raises `Shutdown`. On the way out they are ignored, so the
    cleanup that follows runs to the end (every step of it has its own deadline)."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, _raise_shutdown)
    try:
        yield
    finally:
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)


def _say(line: str) -> None:
    say_on_stderr(f"sandbox: {line}")


def _how_it_ended(returncode: int | None) -> str:
    if returncode is None:
        return "is running"
    if returncode < 0:
        return f"was killed by {signal.Signals(-returncode).name}"
    return f"exited with code {returncode}"


@dataclass
class Child:
    name: str
    argv: list[str]
    proc: subprocess.Popen | Forked


class ChildExited(Exception):
    def __init__(self, child: Child) -> None:
        super().__init__(f"{child.name} {_how_it_ended(child.proc.returncode)}")
        self.child = child


class GaveUp(Exception):
    """One child or server kept dying: `up` stops everything."""


@dataclass
class Watched:
    """A child or an embedded server that is started again when it dies."""

    name: str
    running: Callable[[], bool]
    ended: Callable[[], str]  # how it died, for the log line
    restart: Callable[[], None]
    deaths: deque[float] = field(default_factory=deque)
    restart_at: float | None = None  # when it is down and waits for its back-off

    def died(self, now: float) -> float:
        """Count a death; the back-off before the next start. GaveUp when it keeps dying."""
        self.deaths.append(now)
        while self.deaths[0] < now - FAILURE_WINDOW_S:
            self.deaths.popleft()
        if len(self.deaths) >= GIVE_UP_AFTER:
            raise GaveUp(f"{self.name} died {len(self.deaths)} times within {FAILURE_WINDOW_S:.0f}s")
        return RESTART_DELAYS_S[min(len(self.deaths), len(RESTART_DELAYS_S)) - 1]


class Supervisor:
    def __init__(self, env: Mapping[str, str], entry: Callable[[list[str]], int] | None = None) -> None:
        self.env = dict(env)
        self.entry = entry  # what a forked child runs: sandbox.cli.run_forked
        self.children: list[Child] = []
        self.watched: list[Watched] = []
        # Called after each start and restart, child or server (`up` records the pids).
        self.started: Callable[[], None] = lambda: None

    def _spawn(self, argv: Sequence[str], gate=None) -> subprocess.Popen:
        return subprocess.Popen(
            list(argv),
            env={**self.env, **gate.env} if gate else self.env,
            pass_fds=gate.fds if gate else (),
            stdin=subprocess.DEVNULL,
            # Its own process group: a terminal's Ctrl-C reaches `up` only, which then
            # stops the children in order; killpg also reaches their own children.
            process_group=0,
            # Dies with `up`, even when `up` is killed with SIGKILL.
            preexec_fn=_die_with_parent,
        )

    def start(self, name: str, argv: Sequence[str], gate=None, fork: str | None = None) -> Child:
        """`gate` (a sandbox.runtime.start_gate.StartGate): the first start only waits at it; a
        restart finds the servers' URLs in `env`. `fork`: the first start is `sandbox <fork>`
        forked from this process (sandbox/runtime/forking.py); a restart runs `argv`."""
        if fork and self.entry is not None:
            from sandbox.runtime import forking

            proc = forking.fork(fork, {**self.env, **gate.env} if gate else self.env, gate.fds[0] if gate else None,
                                self.entry)
        else:
            proc = self._spawn(argv, gate)
        child = Child(name, list(argv), proc)
        if gate:
            gate.spawned()
        self.children.append(child)

        def restart() -> None:
            # What the dead leader left in its group (uvicorn's workers) goes first.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.proc.pid, signal.SIGKILL)
            child.proc = self._spawn(child.argv)

        self.watched.append(Watched(name, running=lambda: child.proc.poll() is None,
                                    ended=lambda: _how_it_ended(child.proc.returncode), restart=restart))
        self.started()
        return child

    def watch_server(self, name: str, server) -> None:
        """Keep an embedded server (`running()`, `restart()`) up as well."""
        self.watched.append(Watched(name, running=server.running, ended=lambda: "stopped running",
                                    restart=server.restart))

    def exited(self) -> Child | None:
        return next((c for c in self.children if c.proc.poll() is not None), None)

    def wait_ready(self, url: str, timeout: float) -> None:
        """Poll `url` until it answers 200; fail when a child exits or time runs out."""
        deadline = time.monotonic() + timeout
        while True:
            if (dead := self.exited()) is not None:
                raise ChildExited(dead)
            with contextlib.suppress(OSError, http.client.HTTPException):  # refused, reset, 503, timeout
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not answer 200 within {timeout:.0f}s")
            time.sleep(0.05)

    def watch(self, interval: float = 0.2, chores: Sequence[Callable[[], None]] = ()) -> NoReturn:
        """Restart what dies, with back-off, until a stop signal (`Shutdown`) or `GaveUp`;
        `chores` run at each look too (reaping what else `up` started)."""
        while True:
            for chore in chores:
                chore()
            now = time.monotonic()
            for unit in self.watched:
                if unit.restart_at is None:
                    if not unit.running():
                        delay = unit.died(now)
                        _say(f"{unit.name} {unit.ended()}; starting it again in {delay:g}s")
                        unit.restart_at = now + delay
                elif now >= unit.restart_at:
                    unit.restart_at = None
                    try:
                        unit.restart()
                    except Exception as exc:  # counted as one more death at the next look
                        _say(f"{unit.name} did not start: {exc}")
                    self.started()
            time.sleep(interval)

    def stop(self, timeout: float) -> None:
        """SIGTERM every child's process group, SIGKILL what is left after `timeout`."""
        self._signal_all(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for child in self.children:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.proc.wait(max(0.0, deadline - time.monotonic()))
        if any(c.proc.poll() is None for c in self.children):
            late = ", ".join(c.name for c in self.children if c.proc.poll() is None)
            say_on_stderr(f"{late} did not stop within {timeout:.0f}s; killing")
        # Also SIGKILL groups whose leader exited: grandchildren (uvicorn workers) may linger.
        self._signal_all(signal.SIGKILL)
        for child in self.children:
            child.proc.wait()

    def _signal_all(self, sig: int) -> None:
        for child in self.children:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.proc.pid, sig)
