"""Real processes: `sandbox api` with two uvicorn workers, `sandbox ipn`, `sandbox worker`.
Their stderr is JSON with the ids; /metrics adds up both API processes; `sandbox worker
--check` answers 0 while a worker runs and 1 when none does."""

from __future__ import annotations

import json
import secrets
import shutil
import signal
import subprocess
import sys

import httpx
import pytest

from sandbox.client.blocking import tls
from sandbox.health.heartbeat import TTL_INTERVALS
from tests.process.conftest import REPO, wait_until
from tests.process.services import ADMIN_KEY, Services, create_payouts, wait_all_final

# The loggers that name a payout when its steps are applied: a step job and the step_due claims.
STEP_LOGGERS = ("sandbox.payouts.engine", "sandbox.payouts.due_claims")
HEARTBEAT_S = 1  # the heartbeat of the worker killed outright: its key lives 3 s, not 15


@pytest.fixture(scope="module")
def services():
    svc = Services()
    svc.env["SANDBOX_API_WORKERS"] = "2"
    svc.env.pop("SANDBOX_LOG_FORMAT", None)  # the default: JSON
    try:
        yield svc
    finally:
        svc.close()
        shutil.rmtree(svc.dir, ignore_errors=True)


def worker_check(svc: Services) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sandbox.cli", "worker", "--check"], cwd=REPO, env=svc.env,
                          capture_output=True, text=True, timeout=60)


def json_lines(text: str) -> list[dict]:
    lines = []
    for line in text.splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            continue
    return lines


def post_count(svc: Services) -> float:
    text = httpx.get(f"http://127.0.0.1:{svc.api_port}/metrics", headers={"X-API-KEY": ADMIN_KEY}, timeout=10).text
    for line in text.splitlines():
        if line.startswith("sandbox_http_request_duration_seconds_count{") and 'route="/api/v1/payouts"' in line \
                and 'method="POST"' in line and 'status="2xx"' in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_worker_check_logs_and_metrics_across_processes(services):
    svc = services
    # No worker has run yet.
    before = worker_check(svc)
    assert before.returncode == 1 and "unhealthy" in before.stderr, before

    svc.start_all(workers=1)
    healthy = wait_until(lambda: (r := worker_check(svc)).returncode == 0 and r, 30, "the worker's health key")
    assert healthy.stdout.startswith("worker check: healthy") and "j_complete=" in healthy.stdout
    assert len(healthy.stdout.strip().splitlines()) == 1

    api, merchant_id = await svc.new_merchant()
    n = 24
    async with api:
        payouts = await create_payouts(api, ["12345678900001"] * n, concurrency=8)
    await wait_all_final(svc, merchant_id, n, timeout=60)

    # Both API processes flush their counts to Redis within a second; a scrape (served by
    # either) shows all of them.
    wait_until(lambda: post_count(svc) >= n, 15, "/metrics to count every POST /payouts")
    assert post_count(svc) == n

    ids = {p["id"] for p in payouts}

    def creates() -> list[dict]:
        return [x for x in json_lines(svc.log("api")) if x.get("logger") == "sandbox.http"
                and x.get("route") == "/api/v1/payouts" and x.get("method") == "POST"]

    def steps() -> list[dict]:
        return [x for x in json_lines(svc.log("worker0")) if x.get("logger") in STEP_LOGGERS
                and x.get("payout_id") in ids]

    # Each process's log thread writes what is waiting every 50 ms: wait for the lines.
    wait_until(lambda: {x["payout_id"] for x in creates()} == ids, 10, "a request line for every payout")
    lines = creates()
    assert len(lines) == n
    assert all(x["merchant_id"] == merchant_id and x["request_id"] and x["status"] == 201 for x in lines)
    assert {"timestamp", "level", "logger", "message", "duration_ms"} <= set(lines[0])

    wait_until(lambda: {x["payout_id"] for x in steps()} == ids, 10, "step lines for every payout")
    step_lines = steps()
    assert all(x["message"] == "due steps applied" and x["merchant_id"] == merchant_id for x in step_lines)

    # A worker that stops cleanly removes its health key: the check fails at once.
    svc.kill("worker0", sig=15)
    after = worker_check(svc)
    assert after.returncode == 1 and "unhealthy" in after.stderr, after

    # A worker killed outright cannot: its key expires within three of its heartbeat's
    # intervals, here one second (SANDBOX_WORKER_HEARTBEAT_S; 5 by default, 15 s to wait).
    svc.start("worker1", "worker", SANDBOX_WORKER_HEARTBEAT_S=str(HEARTBEAT_S))
    wait_until(lambda: worker_check(svc).returncode == 0, 30, "the new worker's health key")
    svc.kill("worker1", sig=9)
    wait_until(lambda: worker_check(svc).returncode == 1, TTL_INTERVALS * HEARTBEAT_S + 5,
               "the killed worker's key to expire")


def test_check_answers_1_when_redis_is_unreachable(monkeypatch, capsys):
    from tests.helpers import free_port
    from worker.main import check

    monkeypatch.setenv("SANDBOX_REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    assert check() == 1
    err = capsys.readouterr().err
    assert err.startswith("worker check: Redis unreachable") and len(err.strip().splitlines()) == 1


async def test_a_change_reaches_every_api_process_before_its_answer(services):
    """A fault rule made through one API process strikes the very next request, sent at once
    on a new connection (as PHP's curl or a CI step's curl sends each request), whichever of
    the two processes takes it: the rule's answer waited until both had forgotten the key's
    cached 'no fault rules'. Before, the other process heard of it a few milliseconds later,
    and a request that came first was served as if there were no rule."""
    svc = services
    # The API processes alone, and only for this test when they were not running: a worker
    # left running would answer the other test's "no worker has run yet" (random order).
    started = "api" not in svc.procs
    if started:
        svc.start_all(workers=0)
    try:
        missed = await _faults_strike_at_once(svc)
    finally:
        if started:
            for name in ("api", "ipn"):
                svc.kill(name, sig=signal.SIGTERM)
    assert not missed, f"requests the rule made just before them did not strike: {missed}"


async def _faults_strike_at_once(svc: Services) -> list[tuple[int, int]]:
    api, _ = await svc.new_merchant()
    key = api.headers["X-API-KEY"]
    missed = []
    async with api:
        for i in range(40):
            made = await api.post("/sandbox/faults", json={"method": "GET", "path": "/balance",
                                                           "fault": "unavailable", "times": 1},
                                  headers={"X-Idempotency-Key": secrets.token_hex(12)})
            assert made.status_code == 201, made.text
            async with httpx.AsyncClient(verify=tls(), timeout=10) as fresh:  # a connection of its own
                struck = await fresh.get(f"{svc.base}/balance", headers={"X-API-KEY": key})
            if struck.status_code != 503:
                missed.append((i, struck.status_code))
    return missed
