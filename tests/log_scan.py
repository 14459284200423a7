"""A pytest plugin: no key or secret in any log line a run of the suite writes.

At the start of a run (the controller, before xdist's workers start, so they inherit it) a
run-wide folder is made and named in PYTEST_SANDBOX_LOGS. Every `sandbox` command the run
starts, whichever test starts it and however (`sandbox up` and the processes it forks, `api`,
`worker`, `ipn`, `migrate`, `seed`, the bench, the CLI), copies what it writes there
(sandbox/observability/log_copy.py), and each test process adds its own log records (the
API, worker and IPN the suite serves in its event loop) as `pytest-<worker>.log`. Those
files outlive the temporary folders the tests delete.

At the end of the run every line of every file is searched for what a key or secret of the
sandbox looks like: API keys (`sk_test_…`, `sk_admin_…`), webhook signing secrets and
private keys (`whsec_…`, `whsk_…`), the rail and session secrets it makes (`rail_…`,
`sess_…`), and, spelled as they are, the secrets the suite gives its servers
(tests/helpers.py). A fingerprint (`sk_admin_…3f9a`) or a masked value does not look like
one; the demo merchants' keys are published, so they are allowed. Any other is a failure of
the run, named by file and line; the folder is then kept for reading, else removed.

What it leaves out: in a test process, the records of the tests' own HTTP clients (`httpx`,
which logs every URL a test asks, keys in query strings included, sent on purpose to see the
sandbox hide them). What it cannot see: what a test reads from a process's pipe and never writes anywhere (the
`up` banner, `merchant new`'s answer, `listen`'s signing secret: printed to the person who asked, by design), and
records a test process's loggers drop below their level (the root logger's WARNING unless
a test lowers it; the `sandbox` commands log at INFO)."""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest

from sandbox.settings import LOG_COPY_VARIABLE

# A secret's prefix, then enough of its characters that a name (`rail_callback_url`) is not one.
SHAPES = re.compile(r"(?:sk_test_|sk_admin_|whsec_|whsk_)[A-Za-z0-9_\-+/=]{16,}|(?:rail_|sess_)[A-Za-z0-9_\-]{30,}")
# In a test process these loggers are the tests' own HTTP clients, saying what a test sent
# (a key in a query string, on purpose, to see the sandbox hide it): not the sandbox's logs.
TEST_CLIENTS = ("httpx", "httpcore")
_OWNED = "_log_scan_owns_the_folder"
_FOUND = "_log_scan_found"


def public_keys() -> frozenset[str]:
    from seeds.seed import DEMO_KEYS

    return DEMO_KEYS


def given_secrets() -> tuple[str, ...]:
    """The secrets the suite itself gives its in-process servers, whatever their shape."""
    from tests.helpers import ADMIN_KEY, RAIL_SECRET

    return ADMIN_KEY, RAIL_SECRET


def scan(folder: Path, spelled: tuple[str, ...] = ()) -> list[str]:
    """`file:line: what` for each secret found in a file of `folder` (and its sub-folders)."""
    allowed = public_keys()
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        with path.open(encoding="utf-8", errors="replace") as lines:
            for number, line in enumerate(lines, 1):
                leaked = [s for s in SHAPES.findall(line) if s not in allowed]
                leaked += [s for s in spelled if s in line]
                found += [f"{path.relative_to(folder)}:{number}: {s[:10]}… ({len(s)} characters)" for s in leaked]
    return found


class _Records(logging.Handler):
    """Every record this test process's loggers let through, as a line in its file."""

    def __init__(self, path: Path) -> None:
        super().__init__(logging.NOTSET)
        self._file = path.open("a", encoding="utf-8")

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(TEST_CLIENTS):
            return
        try:
            self._file.write(f"{record.levelname} {record.name}: {record.getMessage()}\n")
            if record.exc_info:
                self._file.write(logging.Formatter().formatException(record.exc_info) + "\n")
            self._file.flush()
        except Exception:  # noqa: BLE001 - a record that cannot be written is not the test's failure
            self.handleError(record)


def pytest_configure(config: pytest.Config) -> None:
    named = os.environ.get(LOG_COPY_VARIABLE)
    # A folder named but gone is a finished run's (mutmut runs pytest again in one process):
    # this run is a new one, with a folder of its own.
    if not named or not Path(named).is_dir():
        os.environ[LOG_COPY_VARIABLE] = tempfile.mkdtemp(prefix="sandbox-run-logs-")
        setattr(config, _OWNED, True)
    folder = Path(os.environ[LOG_COPY_VARIABLE])
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    logging.getLogger().addHandler(_Records(folder / f"pytest-{worker}-{os.getpid()}.log"))


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not getattr(session.config, _OWNED, False):  # an xdist worker, or a run inside another's folder
        return
    folder = Path(os.environ[LOG_COPY_VARIABLE])
    found = scan(folder, given_secrets())
    setattr(session.config, _FOUND, (folder, found, sum(1 for p in folder.rglob("*") if p.is_file())))
    if found:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    else:
        shutil.rmtree(folder, ignore_errors=True)
        os.environ.pop(LOG_COPY_VARIABLE, None)  # the run is over: a later one in this process starts its own


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    folder, found, files = getattr(config, _FOUND, (None, [], 0))
    if folder is None:
        return
    if not found:
        terminalreporter.write_line(f"log scan: no key or secret in the {files} log files of this run")
        return
    terminalreporter.section("keys and secrets in the run's logs", sep="=", red=True, bold=True)
    for line in found[:200]:
        terminalreporter.write_line(line)
    terminalreporter.write_line(f"{len(found)} in all; the logs are kept in {folder}")
