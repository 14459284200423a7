"""`/ready` means every part serves, from the very first 200: twenty fresh `sandbox up`
starts (each on a new data dir, from the start-up template, as a CI job starts it), and at
each, the moment `/api/v1/ready` first answers 200 (polled every 10 ms):

- the bank's signed callback is sent to the IPN at the URL /ready names, and the IPN
  answers it (before, `up` started the IPN only after the API answered, and such a
  callback met `Connection refused`);
- a merchant on a manual clock is made, pays out, and advances its clock until idle: the
  payout reaches its end in that request.

Twenty starts cost about twenty times a start and a stop (a few seconds each), so both
checks run at each start and each test reads its own column of the results."""

from __future__ import annotations

import json
import secrets
import signal
import time
from dataclasses import dataclass

import httpx
import pytest

from sandbox.client.blocking import tls
from sandbox.rail import signing
from tests.process.conftest import READY_TIMEOUT, Up, scratch_dir

ROUNDS = 20
RAIL_SECRET = "rail_" + secrets.token_hex(16)
ADMIN_KEY = "sk_admin_ready_" + secrets.token_hex(12)


@dataclass
class Round:
    ready_after_s: float
    ready: dict
    callback: str  # the IPN's answer to the callback, or what went wrong
    manual_payout: str  # the manual-clock payout's status after the advance, or what went wrong
    exit_code: int


def first_ready(run: Up, client: httpx.Client) -> dict:
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        assert run.proc.poll() is None, f"`sandbox up` exited {run.proc.returncode}:\n{run.output()}"
        try:
            answer = client.get(f"{run.base}/ready")
            if answer.status_code == 200:
                return answer.json()
        except httpx.TransportError:
            pass  # not listening yet
        assert time.monotonic() < deadline, f"/ready did not answer 200 within {READY_TIMEOUT:g}s:\n{run.output()}"
        time.sleep(0.01)


def send_callback(client: httpx.Client, ipn_url: str) -> str:
    """A signed callback for a payout this sandbox never made: the IPN checks the
    signature, looks the reference up in PostgreSQL and answers 404."""
    body = json.dumps({"psp_reference": "rail_" + secrets.token_hex(8), "notification_id": secrets.token_hex(8),
                       "status": "success"}).encode()
    try:
        answer = client.post(f"{ipn_url}/ipn/rail", content=body, headers={
            signing.HEADER: signing.sign(RAIL_SECRET, body), "Content-Type": "application/json"})
    except httpx.TransportError as exc:
        return f"{type(exc).__name__}: {exc}"
    return f"{answer.status_code} {answer.json().get('code')}"


def manual_clock_payout(client: httpx.Client, base: str) -> str:
    try:
        made = client.post(f"{base}/sandbox/merchants", json={
            "name": "ready", "opening_balance": "10000.00", "clock": "manual"},
            headers={"X-API-KEY": ADMIN_KEY, "X-Idempotency-Key": secrets.token_hex(16)})
        assert made.status_code == 201, made.text
        key = {"X-API-KEY": made.json()["api_key"]}
        payout = client.post(f"{base}/payouts", headers={**key, "X-Idempotency-Key": secrets.token_hex(16)}, json={
            "amount": "15.00", "currency": "PKR",
            "destination": {"type": "bank", "bank_code": "HBL", "account_number": "12345678900001"}})
        assert payout.status_code == 201, payout.text
        moved = client.post(f"{base}/sandbox/clock/advance", json={"until": "idle"},
                            headers={**key, "X-Idempotency-Key": secrets.token_hex(16)})
        assert moved.status_code == 200 and moved.json()["idle"], moved.text
        return client.get(f"{base}/payouts/{payout.json()['id']}", headers=key).json()["status"]
    except (AssertionError, httpx.HTTPError) as exc:
        return f"{type(exc).__name__}: {exc}"


def one_round() -> Round:
    with scratch_dir() as scratch:
        run = Up(scratch / "data", SANDBOX_ADMIN_KEY=ADMIN_KEY, SANDBOX_RAIL_SECRET=RAIL_SECRET)
        try:
            with httpx.Client(verify=tls(), timeout=10) as client:
                ready = first_ready(run, client)
                ready_after = time.monotonic() - run.started
                callback = send_callback(client, ready["ipn_url"])
                manual = manual_clock_payout(client, run.base)
            run.signal(signal.SIGTERM)
            return Round(round(ready_after, 2), ready, callback, manual, run.wait_exit())
        finally:
            run.close()


@pytest.fixture(scope="module")
def rounds() -> list[Round]:
    started = time.monotonic()
    done = [one_round() for _ in range(ROUNDS)]
    print(f"\n{ROUNDS} starts in {time.monotonic() - started:.0f}s; first 200 from /ready after "
          f"{sorted(r.ready_after_s for r in done)} s")
    return done


def test_ready_names_every_part_serving_and_where_the_ipn_is(rounds):
    for r in rounds:
        assert r.ready["status"] == "ok", r
        assert {k: r.ready[k] for k in ("api", "postgres", "redis", "worker", "ipn")} == dict.fromkeys(
            ("api", "postgres", "redis", "worker", "ipn"), "ok"), r
        assert r.ready["ipn_url"].startswith("http://127.0.0.1:"), r
        assert r.exit_code == 0, r


def test_the_ipn_takes_a_callback_the_moment_ready_first_answers(rounds):
    assert [r.callback for r in rounds] == ["404 not_found"] * ROUNDS


def test_a_manual_clock_payout_is_made_and_advanced_the_moment_ready_first_answers(rounds):
    assert [r.manual_payout for r in rounds] == ["success"] * ROUNDS


def test_merchant_new_waits_for_ready_when_started_beside_up():
    """A CI job's first two lines, `sandbox up &` then `sandbox merchant new --wait`: the
    merchant is made once every part serves, not refused because the API was not up yet."""
    import subprocess
    import sys

    from tests.process.conftest import REPO

    with scratch_dir() as scratch:
        run = Up(scratch / "data", SANDBOX_ADMIN_KEY=ADMIN_KEY)
        try:
            made = subprocess.run([sys.executable, "-m", "sandbox.cli", "merchant", "new", "--json", "--wait", "90",
                                   "--url", f"http://127.0.0.1:{run.port}", "--admin-key", ADMIN_KEY],
                                  cwd=REPO, capture_output=True, text=True, timeout=120)
            assert made.returncode == 0, made.stderr + run.output()
            assert json.loads(made.stdout)["api_key"].startswith("sk_test_")
            with httpx.Client(verify=tls(), timeout=10) as client:
                assert client.get(f"{run.base}/ready").status_code == 200
            # The operator's key came from the environment: the banner (a log) names it by its last four.
            run.wait_ready()
            assert ADMIN_KEY not in run.output() and f"sk_admin_…{ADMIN_KEY[-4:]}" in run.output(), run.output()
        finally:
            run.close()

