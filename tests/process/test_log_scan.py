"""The suite's log scan (tests/log_scan.py) fails a run whose processes logged a key, naming
the file and line, though every test of the run passed; a run that logged none passes. Each
case is a pytest run of its own, with the scan, whose test starts a process that logs."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from sandbox.guards.fingerprints import fingerprint
from sandbox.settings import LOG_COPY_VARIABLE
from seeds.seed import DEMO_KEYS
from tests.log_scan import scan
from tests.process.conftest import REPO

# The test the inner run runs: a process that copies its output as every `sandbox` command
# does, and logs what it is given.
INNER = '''
import subprocess, sys

CHILD = """
import logging, sys
from sandbox.observability import log_copy
log_copy.start("leaky")
logging.basicConfig(level=logging.INFO)
logging.getLogger("sandbox.leaky").info("made a merchant with %s", sys.argv[1])
"""


def test_a_process_logs(request):
    said = request.config.getoption("said")
    subprocess.run([sys.executable, "-c", CHILD, said], check=True)
'''
CONFTEST = '''
def pytest_addoption(parser):
    parser.addoption("--said")
'''


def inner_run(tmp_path: Path, said: str) -> subprocess.CompletedProcess:
    (tmp_path / "test_inner.py").write_text(INNER)
    (tmp_path / "conftest.py").write_text(CONFTEST)
    env = {k: v for k, v in os.environ.items() if k not in (LOG_COPY_VARIABLE, "PYTEST_XDIST_WORKER")}
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "tests.log_scan", "-p", "no:randomly",
                           "-p", "no:cacheprovider", f"--said={said}", "test_inner.py"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)


def test_a_key_in_a_process_log_fails_the_run_naming_file_and_line(tmp_path):
    key = "sk_test_" + os.urandom(24).hex()
    done = inner_run(tmp_path, key)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "1 passed" in out, out  # the test passed: the scan failed the run
    assert re.search(r"leaky-\d+\.log:1: sk_test_\w+… \(56 characters\)", out), out
    assert key not in out  # the report names the file and line, not the key
    kept = re.search(r"the logs are kept in (\S+)", out)
    assert kept, out
    folder = Path(kept.group(1))
    try:
        assert any(key in log.read_text() for log in folder.glob("leaky-*.log"))
    finally:
        shutil.rmtree(folder)


def test_a_run_whose_logs_hold_a_fingerprint_or_a_published_key_passes(tmp_path):
    key = "sk_admin_" + os.urandom(24).hex()
    done = inner_run(tmp_path, f"{fingerprint(key)} {min(DEMO_KEYS)}")
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert re.search(r"log scan: no key or secret in the \d+ log files of this run", out), out


def test_each_secret_shape_is_found_and_a_name_is_not(tmp_path):
    secrets = ["sk_admin_" + "a1" * 16, "whsec_" + "b2" * 16, "whsk_" + "c3" * 16, "rail_" + "d4" * 16,
               "sess_" + "e5" * 16]
    (tmp_path / "x.log").write_text("\n".join(["rail_callback_url is set", "sk_admin_…3f9a", *secrets]) + "\n")
    found = scan(tmp_path, ("given-secret-of-any-shape",))
    assert [f.split(":")[1] for f in found] == ["3", "4", "5", "6", "7"], found
    (tmp_path / "y.log").write_text("it was given-secret-of-any-shape\n")
    assert scan(tmp_path, ("given-secret-of-any-shape",))[-1].startswith("y.log:1:")
