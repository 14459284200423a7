"""The SSRF battery (.ci/ssrf-battery, the Kubernetes lane runs it against the played
manifests) against a `sandbox up` as a user starts it: bound beyond loopback with the
refusal left to its default, every case is refused in words and the sandbox still serves;
told `SANDBOX_WEBHOOK_BLOCK_PRIVATE=false`, the battery fails and quotes the IPN's own
answer (the probe's finding on a shared sandbox). And a local `sandbox up` that is not
shared calls a receiver on loopback until the operator makes a team: from then on the
running worker refuses that endpoint, in words, with no answer."""

from __future__ import annotations

import secrets
import subprocess
import sys
from pathlib import Path

import httpx

from tests.process.conftest import DEMO_KEY, REPO, Up, scratch_dir, wait_until

ADMIN_KEY = "sk_admin_ssrf_" + secrets.token_hex(12)


def battery_against(data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """The battery's run against a `sandbox up` with `env`, stopped after it."""
    up = Up(data_dir, **env)
    try:
        up.wait_ready()
        return subprocess.run([sys.executable, "-m", "tests.security.ssrf_battery", up.base, DEMO_KEY,
                               "--ipn-port", str(up.ipn_port), "--deadline", "30"],
                              cwd=REPO, capture_output=True, text=True, timeout=300, check=False)
    finally:
        up.close()


def test_the_battery_holds_on_a_shared_sandbox_and_fails_on_an_open_one():
    with scratch_dir() as scratch:
        held = battery_against(scratch / "data", SANDBOX_HOST="0.0.0.0")
        assert held.returncode == 0, held.stdout + held.stderr
        lines = held.stdout.splitlines()
        assert sum(line.startswith("PASS ") for line in lines) == 13, held.stdout
        assert "PASS  loopback: the IPN: refused at registration: 422 127.0.0.1, a loopback address" in held.stdout
        assert "the API is bound to 0.0.0.0 (SANDBOX_HOST)" in held.stdout
        assert "PASS  the instance still serves: /api/v1/ready answered 200" in held.stdout
        assert lines[-1].endswith("13 of 13 held (the redirecting receiver was called 0 times)"), lines[-1]

        called = battery_against(scratch / "data", SANDBOX_WEBHOOK_BLOCK_PRIVATE="false")
        assert called.returncode == 1, called.stdout + called.stderr
        assert "FAIL  loopback: the IPN: CALLED: HTTP 401" in called.stdout
        assert "missing X-Rail-Signature header" in called.stdout  # the IPN's answer, read by a merchant key
        assert "FAILED" in called.stdout.splitlines()[-1]


def test_a_team_made_turns_the_refusal_on_in_the_running_worker():
    with scratch_dir() as scratch:
        up = Up(scratch / "data", SANDBOX_ADMIN_KEY=ADMIN_KEY)
        try:
            up.wait_ready()

            def post(path: str, body: dict, key: str = DEMO_KEY) -> httpx.Response:
                return up.http.post(path, json=body, headers={"X-API-KEY": key,
                                                              "X-Idempotency-Key": secrets.token_hex(12)})

            def first_attempt(endpoint: str) -> dict | None:
                payout = post("/payouts", {"amount": "15.00", "destination": {
                    "type": "bank", "bank_code": "HBL", "account_number": "12345678900001"}}).json()

                def attempted() -> dict | None:
                    for event in up.http.get("/events", params={"payout_id": payout["id"]}).json()["data"]:
                        for d in up.http.get(f"/events/{event['id']}/deliveries").json()["data"]:
                            if d["endpoint_id"] == endpoint and d["attempts"]:
                                return d["attempts"][0]
                    return None
                return wait_until(attempted, 30, "the delivery's first attempt")

            ipn = post("/webhook-endpoints", {"url": f"http://127.0.0.1:{up.ipn_port}/ipn/rail",
                                              "events": ["payout.created"]})
            assert ipn.status_code == 201, ipn.text  # a local sandbox: loopback is the user's own
            before = first_attempt(ipn.json()["id"])
            assert before is not None and before["status_code"] == 401, before  # the IPN answered

            assert post("/admin/teams", {"name": "the first team"}, ADMIN_KEY).status_code == 201
            refused = post("/webhook-endpoints", {"url": f"http://127.0.0.1:{up.port}/api/v1/admin/teams"})
            assert refused.status_code == 422 and "teams are made" in refused.json()["detail"], refused.text

            def refused_now() -> dict | None:  # the worker reads the teams again within 5 s
                attempt = first_attempt(ipn.json()["id"])
                return attempt if attempt and attempt["status_code"] is None else None
            after = wait_until(refused_now, 30, "the worker to refuse the endpoint", interval=1)
            assert after["response_excerpt"] is None, after
            assert after["error"].startswith("ConnectError: refused before connecting: 127.0.0.1, a loopback address")
            assert "the sandbox is shared: teams are made" in after["error"], after
        finally:
            up.close()
