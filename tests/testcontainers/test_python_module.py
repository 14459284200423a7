"""`MyPaySandboxContainer` as a test uses it: started on the engine, a merchant on a manual
clock, a payout walked to its end, the verdict held and fell short, the receiver audit;
then removed, leaving no container behind. Two starts at once get a container and ports
each; a start that cannot succeed fails at once with the container's log."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import ThreadingHTTPServer

import httpx
import pytest

from sandbox.testing.containers import MyPaySandboxContainer, SandboxDidNotStart
from tests.testcontainers.conftest import container_ids
from tests.verdicts.test_gate import AcceptsAnything

FAILS_WITHIN_S = 30.0  # far below the 120 s start-up deadline: a refused start does not wait it out


@pytest.fixture(scope="module")
def sandbox(engine, image):
    started = time.monotonic()
    with MyPaySandboxContainer(image) as container:
        print(f"start to ready: {time.monotonic() - started:.1f} s")
        yield container


def test_started_means_every_part_serves(engine, image):
    """The one meaning of ready: when start() returns, the IPN answers too (a test may send
    the bank's answer to it first thing), not only the API."""
    with MyPaySandboxContainer(image) as sandbox:
        assert httpx.get(f"{sandbox.get_ipn_url()}/health").status_code == 200
        assert httpx.get(f"{sandbox.get_api_url()}/ready").status_code == 200


def test_a_payout_walked_on_a_manual_clock_and_the_verdict(sandbox):
    merchant = sandbox.new_merchant(clock="manual")
    assert merchant.key.startswith("sk_test_")
    payout = merchant.payout("success")
    assert payout["status"] == "pending"
    assert merchant.get_payout(payout["id"])["status"] == "pending", "a manual clock that moved by itself"

    advanced = sandbox.advance_clock(merchant, until="idle")

    assert advanced.idle
    assert [(t.from_status, t.to_status) for t in advanced.transitions] == [("pending", "processing"),
                                                                           ("processing", "success")]
    assert merchant.get_payout(payout["id"])["status"] == "success"
    held = sandbox.gate(merchant.key, require_coverage=["success"])
    assert held.held and held.merchants[0].merchant_id == merchant.id
    short = sandbox.gate(merchant, require_coverage=["success", "on_hold"])
    assert not short.held
    assert short.merchants[0].requirements[0].missing == ["on_hold"]


def test_the_receiver_audit_of_a_receiver_that_checks_nothing(sandbox):
    """A receiver on this machine that answers 204 to anything fails the audit: typed cases."""

    server = ThreadingHTTPServer(("0.0.0.0", 0), AcceptsAnything)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        audit = sandbox.audit_receiver(f"http://{sandbox.host_name}:{server.server_port}/hooks", lambda secret: None)
    finally:
        server.shutdown()
    assert not audit.passed
    assert audit.failed_count > 0
    assert any(case.expected == "4xx" and case.observed_status == 204 for case in audit.cases)


def test_the_container_is_removed_and_nothing_is_left_behind(engine, image):
    before = container_ids(engine)
    with MyPaySandboxContainer(image) as container:
        ours = container.get_container_id()
        assert container_ids(engine) == before | {ours}
    assert container_ids(engine) == before


def test_two_starts_at_once_get_a_container_and_ports_each(engine, image):
    before = container_ids(engine)
    containers = [MyPaySandboxContainer(image), MyPaySandboxContainer(image)]
    try:
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda c: c.start(), containers))
        ids = {c.get_container_id() for c in containers}
        urls = {c.get_api_url() for c in containers} | {c.get_ipn_url() for c in containers}
        assert len(ids) == 2 and len(urls) == 4
        keys = [c.new_merchant().key for c in containers]
        # Each is a sandbox of its own: a merchant of one is unknown to the other.
        other = httpx.get(f"{containers[1].get_api_url()}/sandbox/clock", headers={"X-API-KEY": keys[0]})
        assert other.status_code == 401
    finally:
        for c in containers:
            c.stop()
    assert container_ids(engine) == before


def test_a_bad_admin_key_fails_at_once_with_the_containers_log(engine, image):
    before = container_ids(engine)
    started = time.monotonic()
    with pytest.raises(SandboxDidNotStart) as failed:
        MyPaySandboxContainer(image, admin_key="too-short").start()
    assert time.monotonic() - started < FAILS_WITHIN_S
    assert "the container stopped" in str(failed.value)
    assert "SANDBOX_ADMIN_KEY must be 16 to 200 characters long" in str(failed.value)  # the sandbox's own words
    assert container_ids(engine) == before


def test_a_missing_image_fails_at_once_naming_it(engine, image):
    missing = f"localhost/mypay-sandbox:no-such-tag-{int(time.time())}"
    started = time.monotonic()
    with pytest.raises(SandboxDidNotStart) as failed:
        MyPaySandboxContainer(missing).start()
    assert time.monotonic() - started < FAILS_WITHIN_S
    assert f"no image {missing}" in str(failed.value)


def test_settings_that_would_break_the_port_mapping_are_refused(engine, image):
    with pytest.raises(ValueError, match="SANDBOX_API_PORT is the image's own"):
        MyPaySandboxContainer(image, settings={"api_port": "9000"})
