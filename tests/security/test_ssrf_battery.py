"""The SSRF battery (.ci/ssrf-battery, the Kubernetes lane runs it against the played
manifests) against a `sandbox up` as a user starts it: bound beyond loopback with the
refusal left to its default, every case is refused in words and the sandbox still serves;
told `SANDBOX_WEBHOOK_BLOCK_PRIVATE=false`, the battery fails and quotes the IPN's own
answer (the probe's finding on a shared sandbox)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.process.conftest import DEMO_KEY, REPO, Up, scratch_dir


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
