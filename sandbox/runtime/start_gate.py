"""`sandbox up` starts its API process before PostgreSQL and Redis are up: most of a
process' start is importing its code and building its app, which need no server, so that
happens while `up` starts the servers, migrates and seeds (sandbox/runtime/serving.py). Such a
process then waits at its gate (a pipe whose read end it inherited, named by
SANDBOX_START_GATE_FD) until `up` writes the servers' URLs into it; if `up` closes the
pipe without a word (it failed or was stopped) the process exits quietly."""

from __future__ import annotations

import json
import os

from sandbox.settings import GATE_VARIABLE, get_settings, passed_the_start_gate


class StartGate:
    """`up`'s end: `env` and `fds` for the child's start, then `open(urls)` or `close()`."""

    def __init__(self) -> None:
        self._read, self._write = os.pipe()
        self.env = {GATE_VARIABLE: str(self._read)}
        self.fds = (self._read,)

    def spawned(self) -> None:
        os.close(self._read)  # the child has its own copy

    def open(self, urls: dict[str, str]) -> None:
        # One short line: within PIPE_BUF, so the write neither blocks nor splits.
        os.write(self._write, json.dumps(urls).encode() + b"\n")
        self.close()

    def close(self) -> None:
        if self._write != -1:
            os.close(self._write)
            self._write = -1


def wait_at_gate() -> None:
    """In a process `up` started behind a gate: wait for the servers' URLs and put them in
    this process' environment. Nothing to do in a process started without a gate."""
    fd = get_settings().start_gate_fd
    if fd is None:
        return
    with os.fdopen(fd, "rb") as gate:
        line = gate.readline()
    if not line:
        raise SystemExit(0)  # `up` is stopping before the servers were up
    passed_the_start_gate(json.loads(line))
