"""`sandbox worker --alive`: the liveness check of one worker process (a Kubernetes pod's),
read from the file its poll loop touches. A worker stopped in its tracks (SIGSTOP: its loop
turns no more) fails it once the file is older than ALIVE_WITHIN_S, and passes again as
soon as it turns; `--check` could not tell, since any worker of the queue keeps arq's
heartbeat fresh."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

from tests.process.conftest import REPO, wait_until
from tests.process.services import Services
from worker.resilient import ALIVE_WITHIN_S


def worker_alive(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sandbox.cli", "worker", "--alive"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60)


def test_alive_follows_the_workers_own_poll_loop():
    svc = Services()  # migrated and seeded; only the worker runs here
    try:
        alive_file = svc.dir / "worker-alive"
        svc.env["SANDBOX_WORKER_ALIVE_FILE"] = str(alive_file)
        missing = worker_alive(svc.env)
        assert missing.returncode == 1 and "no alive file" in missing.stderr, missing

        worker = svc.start("worker0", "worker")
        ok = wait_until(lambda: (r := worker_alive(svc.env)).returncode == 0 and r, 60, "the worker's alive file")
        assert ok.stdout.startswith("worker alive: the poll loop turned"), ok

        os.kill(worker.pid, signal.SIGSTOP)
        try:
            stale = time.time() - ALIVE_WITHIN_S - 5  # as if the loop had stood still that long
            os.utime(alive_file, (stale, stale))
            stuck = worker_alive(svc.env)
            assert stuck.returncode == 1 and "last turned" in stuck.stderr, stuck
        finally:
            os.kill(worker.pid, signal.SIGCONT)
        wait_until(lambda: worker_alive(svc.env).returncode == 0, 30, "the resumed worker to touch its file")
    finally:
        svc.close()
        shutil.rmtree(svc.dir, ignore_errors=True)
