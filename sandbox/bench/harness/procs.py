"""`sandbox bench`'s child processes: a free port, a child started with its output in a
log file, stopped, waited for until a URL answers, a `sandbox.cli` command run to its end,
and the progress lines printed on stderr."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]  # children run from the repository's root
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spawn(argv: list[str], env: dict, log: Path) -> subprocess.Popen:
    from sandbox.runtime.embedded import _die_with_parent

    with log.open("ab") as out:
        return subprocess.Popen(argv, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_http(url: str, proc: subprocess.Popen, log: Path, interval: float = 0.1,
              timeout: float = READY_TIMEOUT_S) -> None:
    """Until `url` answers 200, asked every `interval` seconds; fails at once if the process
    died, or at the deadline."""
    import httpx

    deadline = time.monotonic() + timeout
    # One client for every ask: a new one each time builds a TLS context (milliseconds of
    # CPU that a start measured on two cores would share).
    with httpx.Client(timeout=2) as client:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{proc.args} exited with {proc.returncode}; see {log}")
            with contextlib.suppress(httpx.HTTPError):
                if client.get(url).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not answer within {timeout:.0f}s; see {log}")
            time.sleep(interval)  # polling a condition, bounded by the deadline above


def wait_api(api_url: str, proc: subprocess.Popen, log: Path, timeout: float = READY_TIMEOUT_S) -> None:
    """Until an API process started alone serves. Its /health, not /ready: /ready also asks
    for a worker's heartbeat and the IPN service, which a bench of the API alone never starts."""
    wait_http(api_url + "/api/v1/health", proc, log, timeout=timeout)


def cli(env: dict, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "sandbox.cli", *args], cwd=REPO, env=env, check=True,
                   stdout=subprocess.DEVNULL)


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
