"""Process supervision for `sandbox up`: start child processes, wait until the API
answers, watch the children, and stop them all (SIGTERM, then SIGKILL after a deadline).

Stop signals (SIGINT, SIGTERM, SIGHUP) raise `Shutdown` in the main thread, so a stop
request interrupts whatever `up` is doing, startup included; the caller's `finally`
then stops everything it started."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from sandbox.embedded import _die_with_parent

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


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


@dataclass
class Child:
    name: str
    proc: subprocess.Popen


class ChildExited(Exception):
    def __init__(self, child: Child) -> None:
        super().__init__(f"{child.name} exited with code {child.proc.returncode}")
        self.child = child


class Supervisor:
    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = dict(env)
        self.children: list[Child] = []

    def start(self, name: str, argv: Sequence[str]) -> Child:
        proc = subprocess.Popen(
            list(argv),
            env=self.env,
            stdin=subprocess.DEVNULL,
            # Its own process group: a terminal's Ctrl-C reaches `up` only, which then
            # stops the children in order; killpg also reaches their own children.
            process_group=0,
            # Dies with `up`, even when `up` is killed with SIGKILL.
            preexec_fn=_die_with_parent,
        )
        child = Child(name, proc)
        self.children.append(child)
        return child

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

    def watch(self, interval: float = 0.2) -> Child:
        """Block until a child exits (a stop signal interrupts with `Shutdown`)."""
        while (dead := self.exited()) is None:
            time.sleep(interval)
        return dead

    def stop(self, timeout: float) -> None:
        """SIGTERM every child's process group, SIGKILL what is left after `timeout`."""
        self._signal_all(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for child in self.children:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.proc.wait(max(0.0, deadline - time.monotonic()))
        if any(c.proc.poll() is None for c in self.children):
            late = ", ".join(c.name for c in self.children if c.proc.poll() is None)
            print(f"{late} did not stop within {timeout:.0f}s; killing", file=sys.stderr, flush=True)
        # Also SIGKILL groups whose leader exited: grandchildren (uvicorn workers) may linger.
        self._signal_all(signal.SIGKILL)
        for child in self.children:
            child.proc.wait()

    def _signal_all(self, sig: int) -> None:
        for child in self.children:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.proc.pid, sig)
