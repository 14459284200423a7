"""Probes a cluster can use: with the worker stopped, the API still serves, so its own
readiness (`/api/v1/ready/api`, what an API pod's readinessProbe asks) stays 200, while the
outage shows where it belongs: `/api/v1/ready`'s body (the whole sandbox's readiness),
`sandbox worker --check` (the worker's own probe) and `sandbox_worker_up` in /metrics.
Real processes (`sandbox api`, `sandbox ipn`, `sandbox worker`) on their own servers."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys

import httpx
import pytest

from tests.process.conftest import REPO, wait_until
from tests.process.services import ADMIN_KEY, Services


@pytest.fixture(scope="module")
def svc():
    services = Services()
    services.env["SANDBOX_API_WORKERS"] = "1"
    try:
        services.start_all(workers=1)
        yield services
    finally:
        services.close()
        shutil.rmtree(services.dir, ignore_errors=True)


def worker_up(svc: Services) -> float | None:
    text = httpx.get(f"http://127.0.0.1:{svc.api_port}/metrics", headers={"X-API-KEY": ADMIN_KEY}, timeout=10).text
    return next((float(line.split()[1]) for line in text.splitlines() if line.startswith("sandbox_worker_up ")), None)


def worker_check(svc: Services) -> int:
    return subprocess.run([sys.executable, "-m", "sandbox.cli", "worker", "--check"], cwd=REPO, env=svc.env,
                          capture_output=True, timeout=60).returncode


def test_a_worker_outage_keeps_the_api_ready_and_shows_in_ready_the_worker_probe_and_the_metric(svc):
    ready_api = httpx.get(f"{svc.base}/ready/api", timeout=10)
    assert ready_api.status_code == 200 and ready_api.json() == {"status": "ok", "api": "ok", "postgres": "ok",
                                                                 "redis": "ok"}
    assert httpx.get(f"{svc.base}/ready", timeout=10).status_code == 200
    assert worker_up(svc) == 1 and worker_check(svc) == 0

    svc.kill("worker0", sig=signal.SIGTERM)  # a clean stop: its heartbeat goes at once
    try:
        ready = httpx.get(f"{svc.base}/ready", timeout=10)
        assert ready.status_code == 503 and ready.json()["worker"].startswith("down: "), ready.text
        assert {k: v for k, v in ready.json().items() if k in ("api", "postgres", "redis", "ipn")} == dict.fromkeys(
            ("api", "postgres", "redis", "ipn"), "ok")
        ready_api = httpx.get(f"{svc.base}/ready/api", timeout=10)
        assert ready_api.status_code == 200 and ready_api.json()["status"] == "ok", ready_api.text
        assert worker_up(svc) == 0
        assert worker_check(svc) == 1
        # The API itself serves meanwhile: a key answers.
        assert httpx.get(f"{svc.base}/admin/teams", headers={"X-API-KEY": ADMIN_KEY}, timeout=10).status_code == 200
    finally:
        svc.start("worker0", "worker")
    wait_until(lambda: worker_up(svc) == 1, 30, "the metric to see the worker again")
    assert httpx.get(f"{svc.base}/ready", timeout=10).status_code == 200


def test_api_readiness_says_when_the_api_cannot_serve(svc):
    """Redis frozen: the API's own readiness goes 503 within its deadline and names it."""
    svc.freeze_redis(True)
    try:
        answer = httpx.get(f"{svc.base}/ready/api", timeout=10)
    finally:
        svc.freeze_redis(False)
    assert answer.status_code == 503 and answer.headers["retry-after"] == "1", answer.text
    assert answer.json()["redis"] == "down: TimeoutError" and answer.json()["postgres"] == "ok", answer.text
