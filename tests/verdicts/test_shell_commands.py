"""`sandbox merchant new` and `sandbox clock advance`, run as a CI job in any language runs
them: processes against a `sandbox up` of its own, the URL from SANDBOX_API_PORT as the
default says, the merchant's JSON read back as `jq` would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox.client.blocking import api_client, expect
from sandbox.testing.embedded import EmbeddedSandbox, free_port

SANDBOX = str(Path(sys.executable).with_name("sandbox"))  # the console script the package installs


@pytest.fixture(scope="module")
def running():
    sandbox = EmbeddedSandbox().start()
    yield sandbox
    sandbox.stop()


def run(*argv: str, port: int, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SANDBOX_", "MYPAY_"))}
    return subprocess.run([SANDBOX, *argv], env={**clean, "SANDBOX_API_PORT": str(port), **env},
                          capture_output=True, text=True, timeout=60)


def test_a_merchant_per_job_on_a_manual_clock(running, tmp_path):
    made = run("merchant", "new", "--clock", "manual", "--balance", "2500.00", "--json", port=running.api_port,
               SANDBOX_ADMIN_KEY=running.admin_key)
    assert made.returncode == 0, made.stderr
    merchant = json.loads(made.stdout)
    assert merchant["id"].startswith("mch_") and merchant["api_key"].startswith("sk_test_")
    assert (merchant["clock"], merchant["url"]) == ("manual", running.url)
    other = json.loads(run("merchant", "new", "--json", port=running.api_port,
                           SANDBOX_ADMIN_KEY=running.admin_key).stdout)
    assert other["id"] != merchant["id"] and other["clock"] == "live"
    with api_client(running.url, merchant["api_key"]) as client:
        assert expect(client.get("/balance"), 200)["available"] == "2500.00"
        assert expect(client.get("/sandbox/clock"), 200)["kind"] == "manual"
        payout = expect(client.post("/payouts", json={"amount": "100.00", "currency": "PKR", "destination": {
            "type": "bank", "bank_code": "HBL", "account_number": "12345678900001", "account_title": "Ali Raza"}}),
            201)
        moved = run("clock", "advance", "--key", merchant["api_key"], "--until", "idle", "--json",
                    port=running.api_port)
        assert moved.returncode == 0, moved.stderr
        answer = json.loads(moved.stdout)
        assert answer["idle"] and [(t["from"], t["to"]) for t in answer["transitions"]] == \
            [("pending", "processing"), ("processing", "success")]
        assert expect(client.get(f"/payouts/{payout['id']}"), 200)["status"] == "success"
    words = run("clock", "advance", "--key", merchant["api_key"], "--seconds", "5", port=running.api_port)
    assert words.returncode == 0 and words.stdout.startswith("clock at ") and "0 step(s) applied" in words.stdout


def test_the_admin_key_from_the_file_sandbox_up_writes(running, tmp_path):
    (tmp_path / "admin-key").write_text(running.admin_key + "\n")
    made = run("merchant", "new", port=running.api_port, SANDBOX_DATA_DIR=str(tmp_path))
    assert made.returncode == 0, made.stderr
    assert [line.split()[0] for line in made.stdout.splitlines()] == ["id", "api_key", "clock", "balance", "url"]
    empty = tmp_path / "empty"
    refused = run("merchant", "new", port=running.api_port, SANDBOX_DATA_DIR=str(empty))
    assert refused.returncode == 1
    assert refused.stderr == (f"sandbox: no admin key: --admin-key, SANDBOX_ADMIN_KEY, or the file "
                              f"{empty / 'admin-key'} that `sandbox up` writes (SANDBOX_DATA_DIR names its folder)\n")


def test_a_live_clock_and_a_bad_key_fail_in_one_line(running):
    live = json.loads(run("merchant", "new", "--json", port=running.api_port,
                          SANDBOX_ADMIN_KEY=running.admin_key).stdout)
    moved = run("clock", "advance", "--key", live["api_key"], "--seconds", "1", port=running.api_port)
    assert moved.returncode == 1 and moved.stderr.startswith("sandbox: POST /api/v1/sandbox/clock/advance answered 409")
    bad = run("merchant", "new", "--admin-key", "sk_admin_wrong", port=running.api_port)
    assert bad.returncode == 1 and "answered 401" in bad.stderr and "Traceback" not in bad.stderr


def test_the_url_follows_sandbox_api_port_and_says_so():
    port = free_port()
    helped = run("gate", "--help", port=port)
    assert f"http://127.0.0.1:$SANDBOX_API_PORT, here http://127.0.0.1:{port}" in " ".join(helped.stdout.split())
    for argv in (["merchant", "new", "--admin-key", "sk_admin_x"], ["clock", "advance", "--key", "k", "--seconds", "1"],
                 ["coverage", "--key", "k"]):
        failed = run(*argv, port=port)
        assert failed.returncode == 1
        assert failed.stderr.startswith(f"sandbox: cannot reach http://127.0.0.1:{port} (the default, "
                                        "http://127.0.0.1:$SANDBOX_API_PORT; another sandbox: --url)"), failed.stderr
    gated = run("gate", "--key", "k", "--require-coverage", "all", port=port)
    assert gated.returncode == 2
    assert gated.stderr.startswith(f"sandbox: cannot reach http://127.0.0.1:{port} (the default")
