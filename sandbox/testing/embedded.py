"""An embedded sandbox for one test session: `sandbox up` in a child process, on free
ports, in a temporary data dir; stopped (with its PostgreSQL and Redis) at the end. Where
`sandbox up` cannot run (Windows), `CannotRunHere` says so in `sandbox up`'s own words
before anything is made."""

from __future__ import annotations

import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from sandbox import runtime
from sandbox.testing import config

READY_TIMEOUT_S = 90.0  # first start unpacks PostgreSQL; a loaded CI machine is slow
STOP_TIMEOUT_S = 30.0  # `sandbox up` gives its children 10 s, then stops its servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class CannotRunHere(RuntimeError):
    """`sandbox up` does not run on this machine; the message says where to run it."""


class EmbeddedSandbox:
    def __init__(self) -> None:
        if why := runtime.unsupported():
            raise CannotRunHere(why)
        self.data_dir = Path(tempfile.mkdtemp(prefix="mypay-sandbox-"))
        self.api_port, self.ipn_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.api_port}"
        self.admin_key = "sk_admin_pytest_" + secrets.token_hex(16)
        self.log_path = self.data_dir / "sandbox-up.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> EmbeddedSandbox:
        env = config.embedded_env({
            "SANDBOX_DATA_DIR": str(self.data_dir / "data"),
            "SANDBOX_API_PORT": str(self.api_port),
            "SANDBOX_IPN_PORT": str(self.ipn_port),
            "SANDBOX_ADMIN_KEY": self.admin_key,
        })
        from sandbox.runtime.embedded import _die_with_parent

        with open(self.log_path, "wb") as log:
            # SIGTERM when this process dies, however (a test run killed, a CI job's timeout):
            # `sandbox up` then stops as on any stop, with its PostgreSQL and Redis.
            self.process = subprocess.Popen([sys.executable, "-m", "sandbox.cli", "up"], env=env,
                                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            preexec_fn=_die_with_parent)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        assert self.process is not None  # start() started it
        deadline = time.monotonic() + READY_TIMEOUT_S
        with httpx.Client(timeout=2) as client:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"`sandbox up` exited with {self.process.returncode}:\n{self.log_tail()}")
                try:
                    # The one check: 200 when the API, the IPN and the worker all serve, so a
                    # test may send the bank's answer to the IPN first thing.
                    if client.get(f"{self.url}/api/v1/ready").status_code == 200:
                        return
                except httpx.HTTPError:
                    pass  # not listening yet
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the sandbox was not ready in {READY_TIMEOUT_S:g}s:\n{self.log_tail()}")
                time.sleep(0.05)  # a GET refused or answered 503: little CPU beside the child's

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """SIGTERM: `sandbox up` stops its processes, then its PostgreSQL and Redis."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                # Killed, it could not stop its servers; they outlive it unless stopped here.
                from sandbox.runtime.embedded import EmbeddedPostgres, EmbeddedRedis

                EmbeddedRedis(self.data_dir / "data").stop()
                EmbeddedPostgres(self.data_dir / "data").stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)
