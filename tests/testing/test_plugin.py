"""The pytest plugin, run the way an integrator runs it: a sample suite in a pytest
subprocess (pytester), against a sandbox given by MYPAY_SANDBOX_URL + MYPAY_ADMIN_KEY and
against one the plugin embeds itself; the coverage gate passing and failing."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from fnmatch import fnmatch
from pathlib import Path

import pytest

from sandbox.testing.embedded import EmbeddedSandbox
from tests.helpers import UNUSED_PLUGINS

pytest_plugins = ["pytester"]

SAMPLE = (Path(__file__).parent / "sample_integrator_suite.py").read_text()
EVERY_SCENARIO_TESTED = ["success", "retry_then_success", "failed_account_closed", "awaiting_ipn", "on_hold",
                         "success_then_returned", "rail_timeout", "failed_title_mismatch", "failed_account_frozen",
                         "failed_account_dormant", "bank_offline_then_success", "returned_title_mismatch"]


@pytest.fixture(scope="module")
def running_sandbox():
    """One `sandbox up` for the tests that name an existing sandbox."""
    sandbox = EmbeddedSandbox().start()
    yield sandbox
    sandbox.stop()


def run_sample(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_integration=SAMPLE)
    return pytester.runpytest_subprocess(*UNUSED_PLUGINS, *args, timeout=300)


def test_existing_sandbox_every_scenario_and_the_gate_passes(pytester, monkeypatch, running_sandbox):
    monkeypatch.setenv("MYPAY_SANDBOX_URL", running_sandbox.url)
    monkeypatch.setenv("MYPAY_ADMIN_KEY", running_sandbox.admin_key)
    result = run_sample(pytester, "--mypay-require-coverage=all")
    result.assert_outcomes(passed=12)
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*mypay coverage gate passed*"])
    result.stdout.no_fnmatch_line("*embedded sandbox*")


def test_gate_fails_and_names_the_scenario_left_out(pytester, monkeypatch, running_sandbox):
    monkeypatch.setenv("MYPAY_SANDBOX_URL", running_sandbox.url)
    monkeypatch.setenv("MYPAY_ADMIN_KEY", running_sandbox.admin_key)
    result = run_sample(pytester, "--mypay-require-coverage=all", "-k", "not rail_timeout")
    result.assert_outcomes(passed=11, deselected=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*mypay coverage gate FAILED: 1 of 12 asked for fell short: rail_timeout "
                                 "(never started)"])


def test_a_name_the_gate_does_not_know_is_a_usage_error_not_a_shortfall(pytester, monkeypatch, running_sandbox):
    """The sandbox refuses the name before judging (422): the session exits 4, as a usage
    error, and the line says the gate could not judge, naming the name; never FAILED as if
    the integration fell short, never passed."""
    monkeypatch.setenv("MYPAY_SANDBOX_URL", running_sandbox.url)
    monkeypatch.setenv("MYPAY_ADMIN_KEY", running_sandbox.admin_key)
    result = run_sample(pytester, "--mypay-require-coverage=success,sucess", "-k", "success and not retry")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stdout.fnmatch_lines(["*mypay coverage gate COULD NOT JUDGE: 'sucess': not a scenario of the merchants "
                                 "judged nor an operator path*"])
    result.stdout.no_fnmatch_line("*coverage gate FAILED*")
    result.stdout.no_fnmatch_line("*coverage gate passed*")


def test_embedded_sandbox_in_a_project_with_packages_named_like_ours(pytester, monkeypatch):
    """The integrator's project has `seeds`, `worker` and `ipn` packages of its own, and
    pytester puts the project first on PYTHONPATH: the embedded sandbox's processes still
    import only their own, the project's tests only the project's. Every scenario walks,
    the gate passes, and nothing is left running."""
    monkeypatch.delenv("MYPAY_SANDBOX_URL", raising=False)
    for name in ("seeds", "worker", "ipn"):
        pytester.mkpydir(name).joinpath("__init__.py").write_text(f'OWNER = "the integrator\'s {name}"\n')
    pytester.makepyfile(test_own_packages="""
        import ipn, seeds, worker

        def test_the_project_imports_its_own_packages():
            assert [m.OWNER for m in (seeds, worker, ipn)] == [
                "the integrator's seeds", "the integrator's worker", "the integrator's ipn"]
    """)
    result = run_sample(pytester, "--mypay-require-coverage=all")
    result.assert_outcomes(passed=len(EVERY_SCENARIO_TESTED) + 1)
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*mypay coverage gate passed*"])
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
    result = pytester.runpytest_subprocess(*UNUSED_PLUGINS, timeout=120)
    result.assert_outcomes(passed=2)


CLASH = "*this project has a package named `sandbox` (*), and so does the MyPay Sandbox pytest plugin*" \
        "Rename the project's package, or run this suite without the plugin: `pytest -p no:mypay_sandbox`*"


@pytest.mark.parametrize("how", ["pytest", "python -m pytest"])
def test_a_project_with_its_own_sandbox_package_is_told_the_clash_and_the_way_out(pytester, how):
    """One process cannot import two packages named `sandbox`: pytest stops before any test
    with one message, whether the project's package is first on sys.path from the start
    (`python -m pytest` puts the working directory there) or only once pytest adds the
    rootdir. Without the plugin, the project's suite runs with its own package."""
    pytester.mkpydir("sandbox").joinpath("__init__.py").write_text("OWNER = 'the integrator'\n")
    pytester.makepyfile(test_own="import sandbox\n\ndef test_own():\n    assert sandbox.OWNER == 'the integrator'\n")
    argv = [sys.executable, "-m", "pytest"] if how == "python -m pytest" else [Path(sys.executable).with_name("pytest")]
    # As a project runs it (pytester's own runs would put the project on PYTHONPATH), with every
    # plugin installed here (tests/conftest.py's PYTEST_ADDOPTS leaves two out).
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTEST_ADDOPTS")}

    def run(*args: str, **extra_env: str) -> subprocess.CompletedProcess:
        return subprocess.run([*argv, "-p", "no:cacheprovider", *args], cwd=pytester.path, env={**env, **extra_env},
                              capture_output=True, text=True, timeout=120)

    # Only this plugin (by its entry point's name): the others installed here take seconds to import.
    refused = run("-p", "mypay_sandbox", PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    assert refused.returncode == pytest.ExitCode.USAGE_ERROR, refused.stdout + refused.stderr
    assert "Traceback" not in refused.stderr
    assert fnmatch(" ".join(refused.stderr.split()), CLASH), refused.stderr
    if how == "pytest":  # the way out the message gives, with every plugin installed here
        without_plugin = run("-p", "no:mypay_sandbox")
        assert without_plugin.returncode == 0, without_plugin.stdout


OWN_SCENARIO_SUITE = '''
import pytest

pytestmark = pytest.mark.mypay_clock("manual")
STEPS = [{"status": "processing", "after_s": 1, "submit": True}, {"status": "success", "after_s": 2},
         {"status": "returned", "after_s": 172800, "via": "ipn", "failure_code": "incorrect_account_holder_name"}]


def test_own_scenario(mypay_merchant):
    made = mypay_merchant.create_scenario("returned_two_days_later", STEPS, title="Returned two days later")
    assert made["path"] == ["pending", "processing", "success", "returned"]
    payout = mypay_merchant.payout("returned_two_days_later")
    assert payout["scenario"] == "returned_two_days_later"
    if WALK:
        mypay_merchant.advance(until="idle")
        done = mypay_merchant.get_payout(payout["id"])
        assert [h["status"] for h in done["status_history"]] == made["path"]
        assert done["failure"]["iso_reason"] == "BE01"
'''


@pytest.mark.parametrize("walk", [True, False])
def test_the_gate_takes_a_scenario_the_suite_wrote(pytester, monkeypatch, running_sandbox, walk):
    """A merchant's own scenario, made by the suite through the plugin, is gated like a built-in one:
    held when a payout walked it to its end, named with where its payout stopped when none did."""
    monkeypatch.setenv("MYPAY_SANDBOX_URL", running_sandbox.url)
    monkeypatch.setenv("MYPAY_ADMIN_KEY", running_sandbox.admin_key)
    pytester.makepyfile(test_own=f"WALK = {walk}\n" + OWN_SCENARIO_SUITE)
    result = pytester.runpytest_subprocess(*UNUSED_PLUGINS,
                                           "--mypay-require-coverage=returned_two_days_later", timeout=120)
    result.assert_outcomes(passed=1)
    if walk:
        assert result.ret == 0
        result.stdout.fnmatch_lines(["*mypay coverage gate passed*"])
    else:
        assert result.ret == pytest.ExitCode.TESTS_FAILED
        result.stdout.fnmatch_lines(["*mypay coverage gate FAILED: 1 of 1 asked for fell short: "
                                     "returned_two_days_later (started, stopped at `pending`)"])


KILLED_SESSION = """
import sys
from sandbox.testing.embedded import EmbeddedSandbox

sandbox = EmbeddedSandbox().start()
print(sandbox.process.pid, sandbox.data_dir, flush=True)
sys.stdin.read()  # until killed
"""


def test_an_embedded_sandbox_stops_with_everything_when_its_test_process_is_killed():
    """A test run killed outright (kill -9, a CI job's timeout) runs no teardown: its
    `sandbox up` stops by itself, with its PostgreSQL and Redis, and leaves nothing running."""
    from sandbox.runtime.embedded import EmbeddedPostgres, EmbeddedRedis, pid_alive

    session = subprocess.Popen([sys.executable, "-c", KILLED_SESSION], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    assert session.stdout is not None
    pid, data_dir = session.stdout.readline().split()
    try:
        data = Path(data_dir) / "data"
        postgres, redis = EmbeddedPostgres(data).pid(), EmbeddedRedis(data).pid()
        assert postgres and redis
        session.kill()
        session.wait()
        deadline = time.monotonic() + 30
        while any(pid_alive(p) for p in (int(pid), postgres, redis)):
            assert time.monotonic() < deadline, "the sandbox outlived the killed test process"
            time.sleep(0.1)  # polling a condition, bounded by the deadline above
    finally:
        if session.poll() is None:
            session.kill()
        shutil.rmtree(data_dir, ignore_errors=True)


def test_on_windows_the_embedded_sandbox_says_where_to_run_it(pytester, monkeypatch):
    """A Windows developer's first run, `uv add --dev 'mypay-sandbox[pytest]'` then pytest:
    the test that asks for the sandbox errors with `sandbox up`'s own advice (WSL, the
    image) and the plugin's two other ways, never a traceback. Windows is what the test
    process's conftest says `sys.platform` is, from before the plugin's fixture on (not at
    its import: other plugins read the platform's build settings by that name)."""
    from sandbox.runtime import WINDOWS

    monkeypatch.delenv("MYPAY_SANDBOX_URL", raising=False)
    pytester.makeconftest("""
        import sys
        import pytest

        @pytest.fixture(scope="session", autouse=True)
        def on_windows():
            sys.platform, was = "win32", sys.platform
            yield
            sys.platform = was
    """)
    pytester.makepyfile(test_windows="def test_a_payout(mypay_merchant):\n    pass\n")
    result = pytester.runpytest_subprocess(*UNUSED_PLUGINS, timeout=120)
    result.assert_outcomes(errors=1)
    out = result.stdout.str()
    assert WINDOWS in out.replace("\nE       ", " ").replace("\nE   ", " "), out
    assert "--mypay-sandbox=container" in out and "MYPAY_SANDBOX_URL" in out, out
    assert "Traceback" not in out and "ValueError" not in out and "plugin.py:" not in out, out
