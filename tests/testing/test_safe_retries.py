"""The safe-retries gate, run the way an integrator runs it: two small httpx clients in a
pytest subprocess against a `sandbox up` in its own process. The careful one (the same
idempotency key across retries) is judged `recovered` and gets the replayed answer; the
careless one (a new key per retry) is judged `duplicated`, and the gate fails naming both
payouts of each case."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sandbox.testing.embedded import EmbeddedSandbox
from tests.helpers import UNUSED_PLUGINS

pytest_plugins = ["pytester"]

SUITE = (Path(__file__).parent / "retrying_clients_suite.py").read_text()


@pytest.fixture(scope="module")
def running_sandbox():
    sandbox = EmbeddedSandbox().start()
    yield sandbox
    sandbox.stop()


def run(pytester, running_sandbox, monkeypatch, *args: str) -> pytest.RunResult:
    monkeypatch.setenv("MYPAY_SANDBOX_URL", running_sandbox.url)
    monkeypatch.setenv("MYPAY_ADMIN_KEY", running_sandbox.admin_key)
    pytester.makepyfile(test_clients=SUITE)
    return pytester.runpytest_subprocess(*UNUSED_PLUGINS, "--mypay-require-safe-retries", *args,
                                         timeout=300)


def test_careful_client_recovers_and_passes_the_gate(pytester, monkeypatch, running_sandbox):
    result = run(pytester, running_sandbox, monkeypatch, "-k", "careful")
    result.assert_outcomes(passed=3, deselected=4)
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*mypay safe-retries gate passed*"])


def test_careless_client_pays_twice_and_the_gate_names_both_payouts(pytester, monkeypatch, running_sandbox):
    result = run(pytester, running_sandbox, monkeypatch, "-k", "careless", "-s")
    result.assert_outcomes(passed=3, deselected=4)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    out = result.stdout.str()
    assert "mypay safe-retries gate FAILED: a client paid twice" in out
    named = re.findall(r"payout (po_\w+) was paid again as (po_\w+) \(fault (\w+) on request", out)
    assert sorted(kind for _, _, kind in named) == ["error_after_commit", "response_lost", "timeout"]
    # The second payout is the one the client was finally answered with.
    paid = dict((kind, po) for kind, po in re.findall(r"PAID (\w+) (po_\w+)", out))
    assert {kind: second for _, second, kind in named} == paid
    assert all(first != second for first, second, _ in named)


def test_a_failing_test_prints_its_merchants_last_requests(pytester, monkeypatch, running_sandbox):
    result = run(pytester, running_sandbox, monkeypatch, "-k", "shows_its_requests")
    result.assert_outcomes(failed=1, deselected=6)
    result.stdout.fnmatch_lines(["*mypay: last requests of merchant mch_*",
                                 "*GET /api/v1/balance -> 200*"])
