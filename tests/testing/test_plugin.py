"""The pytest plugin, run the way an integrator runs it: a sample suite in a pytest
subprocess (pytester), against a sandbox given by MYPAY_SANDBOX_URL + MYPAY_ADMIN_KEY and
against one the plugin embeds itself; the coverage gate passing and failing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sandbox.testing.embedded import EmbeddedSandbox

pytest_plugins = ["pytester"]

SAMPLE = (Path(__file__).parent / "sample_integrator_suite.py").read_text()
EVERY_SCENARIO_TESTED = ["success", "retry_then_success", "failed_account_closed", "awaiting_ipn", "on_hold",
                         "success_then_returned", "rail_timeout"]


@pytest.fixture(scope="module")
def running_sandbox():
    """One `sandbox up` for the tests that name an existing sandbox."""
    sandbox = EmbeddedSandbox().start()
    yield sandbox
    sandbox.stop()


def run_sample(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_integration=SAMPLE)
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=300)


def test_existing_sandbox_every_scenario_and_the_gate_passes(pytester, monkeypatch, running_sandbox):
    monkeypatch.setenv("MYPAY_SANDBOX_URL", running_sandbox.url)
    monkeypatch.setenv("MYPAY_ADMIN_KEY", running_sandbox.admin_key)
    result = run_sample(pytester, "--mypay-require-coverage=all")
    result.assert_outcomes(passed=7)
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*mypay coverage gate passed*"])
    result.stdout.no_fnmatch_line("*embedded sandbox*")


def test_gate_fails_and_names_the_scenario_left_out(pytester, monkeypatch, running_sandbox):
    monkeypatch.setenv("MYPAY_SANDBOX_URL", running_sandbox.url)
    monkeypatch.setenv("MYPAY_ADMIN_KEY", running_sandbox.admin_key)
    result = run_sample(pytester, "--mypay-require-coverage=all", "-k", "not rail_timeout")
    result.assert_outcomes(passed=6, deselected=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*mypay coverage gate FAILED; never exercised: rail_timeout"])


def test_embedded_sandbox_is_started_and_leaves_nothing_running(pytester, monkeypatch):
    monkeypatch.delenv("MYPAY_SANDBOX_URL", raising=False)
    result = run_sample(pytester, "--mypay-require-coverage=on_hold,release", "-k", "on_hold")
    result.assert_outcomes(passed=1, deselected=6)
    assert result.ret == 0
    data_dir = re.search(r"mypay: embedded sandbox at \S+ \(data in (\S+)\), stopped", result.stdout.str())[1]
    assert not Path(data_dir).exists()
    assert _processes_mentioning(data_dir) == []


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # the process ended while we looked
        if text in argv:
            found.append(argv)
    return found


CLOCK_SAMPLE = '''
import pytest

@pytest.mark.mypay_clock("manual")
def test_on_a_manual_clock(mypay_merchant):
    assert mypay_merchant.clock()["kind"] == "manual"
    payout = mypay_merchant.payout("success")
    assert mypay_merchant.get_payout(payout["id"])["status"] == "pending"
    moved = mypay_merchant.advance(until="idle")
    assert [t["to"] for t in moved["transitions"]] == ["processing", "success"]

def test_on_a_live_clock(mypay_merchant):
    assert mypay_merchant.clock()["kind"] == "live"
'''


def test_clock_marker_asks_for_a_manual_clock(pytester, monkeypatch, running_sandbox):
    """The marker makes the test's merchant on a manual clock; without it, a live one."""
    monkeypatch.setenv("MYPAY_SANDBOX_URL", running_sandbox.url)
    monkeypatch.setenv("MYPAY_ADMIN_KEY", running_sandbox.admin_key)
    pytester.makepyfile(test_clock=CLOCK_SAMPLE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=120)
    result.assert_outcomes(passed=2)
