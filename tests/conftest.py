"""Shared fixtures: one embedded PostgreSQL + Redis for the whole run, the API served
by uvicorn over real HTTP on a free port (in the test event loop), and a fresh merchant
per test for isolation."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator

import pytest

from tests.helpers import ADMIN_KEY, RAIL_SECRET, UNUSED_PLUGINS, Api, Stack, free_port, new_merchant, serve


def _quiet_nested_runs(config) -> None:
    """The pytest runs the suite starts in a shell (a guide's test modules) leave out what
    pyproject.toml's addopts leaves out of this run, and this run's own order and repetition
    (pytester's runs are given UNUSED_PLUGINS: it drops PYTEST_ADDOPTS). Set in the processes
    that run tests only: pytest-xdist's workers inherit the environment of the process that
    starts them, and with `-p no:randomly -p no:repeat` they would run their files in file
    order and refuse `--count`."""
    if os.environ.get("PYTEST_XDIST_WORKER") or not getattr(config.option, "numprocesses", None):
        os.environ["PYTEST_ADDOPTS"] = " ".join((os.environ.get("PYTEST_ADDOPTS", ""), *UNUSED_PLUGINS)).strip()

# The fast lane, `uv run pytest -m "not process"` (docs/contributing.md), leaves these out:
# the folders and files whose tests start processes of their own (`sandbox up`, workers, the
# image, pytest, a browser, tsc, the Pact verifier, the CLI) or wait out seconds of real
# time (webhook retries, frozen servers, schemathesis' run). A new test of that kind goes
# in one of them, or its file goes in this list.
PROCESS_LEVEL = (
    "tests/process/", "tests/bench/", "tests/container/", "tests/testcontainers/", "tests/testing/",
    "tests/kubernetes/",
    "tests/docs/", "tests/mcp/", "tests/faults/", "tests/dashboard/",
    "tests/spec/test_contract.py", "tests/spec/test_typescript_client.py", "tests/spec/test_import_budget.py",
    "tests/spec/test_generated_client.py", "tests/spec/test_published_spec.py",
    "tests/webhooks/delivery/test_retries.py", "tests/webhooks/delivery/test_slow_receivers.py",
    "tests/webhooks/delivery/test_faults.py", "tests/webhooks/delivery/test_recovery.py",
    "tests/webhooks/delivery/test_webhook_client.py", "tests/webhooks/model/test_ssrf.py",
    "tests/verdicts/test_hostile_server.py", "tests/verdicts/test_shell_commands.py",
    "tests/security/test_ssrf_battery.py",
    "tests/ledger/test_stateful_ledger.py", "tests/requests/test_pages_bounded.py", "tests/requests/test_faults.py",
    "tests/observability/test_processes.py", "tests/pact/test_verify", "tests/ratelimits/test_redis_down.py",
    "tests/ratelimits/test_sliding_window_differential.py", "tests/coverage/test_cli_failures.py",
    "tests/sql/test_versions.py", "tests/directory/test_directory_and_tools.py",
    "tests/payouts/lifecycle/test_planner.py", "tests/batches/test_batch_volume.py", "tests/core/test_deferred.py",
    # Seconds of real time in a file (on two idle cores, 26 Nov).
    "tests/webhooks/delivery/test_delivery.py", "tests/webhooks/delivery/test_backlog.py",
    "tests/webhooks/audit/test_audit_limits.py", "tests/verdicts/test_gate.py",
    "tests/requests/test_redaction_property.py", "tests/webhooks/listen/",
    # Builds the wheel, or runs check-jsonschema per workflow (seconds of start-up each).
    "tests/release/test_wheel.py", "tests/release/test_workflows.py", "tests/release/test_leads_back.py",
)


# The files that keep one test process busy longest (40 to 100 s each on two cores, 29 Nov:
# twenty `sandbox up` starts, the guides' code blocks, the faults, the plugin's projects,
# the dashboard in a browser). See `_longest_first`.
LONGEST = (
    "tests/process/test_up_ready.py", "tests/docs/test_code_blocks.py", "tests/faults/test_faults.py",
    "tests/testing/test_plugin.py", "tests/dashboard/test_dashboard.py",
)


# The folders whose tests use servers outside the suite: a container engine (podman builds
# and runs the image; the Testcontainers modules start it through an engine's API). With the
# single tests marked `outside` (the machine's own PostgreSQL and Redis), they run only when
# asked: a contributor's own servers and images are not touched without a word.
OUTSIDE = ("tests/container/", "tests/testcontainers/")
ASK_OUTSIDE = "SANDBOX_TEST_OUTSIDE"


ORACLE_EXAMPLES = "SANDBOX_ORACLE_EXAMPLES"
"""How many histories each oracle property test (tests/verdicts/test_oracle_*.py) generates:
500 a requirement in the full suite, 60 in the fast lane (a run whose `-m` leaves the
process tests out); the variable, when set, says it (docs/contributing.md)."""


def pytest_configure(config) -> None:
    _quiet_nested_runs(config)
    # The suite's receivers are on 127.0.0.1, and its one database holds the teams every
    # test made: the refusal of webhook targets inside the network (on by default once a
    # team exists) is off for the suite and every sandbox it starts, unless a test turns
    # it on or back to `auto` (tests/webhooks/model/test_ssrf.py).
    os.environ.setdefault("SANDBOX_WEBHOOK_BLOCK_PRIVATE", "false")
    if ORACLE_EXAMPLES not in os.environ:
        fast = "not process" in (config.getoption("markexpr", "") or "")
        os.environ[ORACLE_EXAMPLES] = "60" if fast else "500"


def pytest_collection_modifyitems(config, items) -> None:
    from sandbox import runtime

    root = config.rootpath
    asked_outside = os.environ.get(ASK_OUTSIDE) == "1"
    unsupported = runtime.unsupported()  # Windows: the suite runs in WSL, as the sandbox does
    for item in items:
        if unsupported:
            item.add_marker(pytest.mark.skip(reason=unsupported))
        where = item.path.relative_to(root).as_posix()
        if where.startswith(PROCESS_LEVEL):
            item.add_marker(pytest.mark.process)
        if where.startswith(OUTSIDE):
            item.add_marker(pytest.mark.outside)
        if not asked_outside and item.get_closest_marker("outside"):
            item.add_marker(pytest.mark.skip(
                reason=f"uses servers outside the suite (a container engine, this machine's PostgreSQL or Redis): "
                       f"{ASK_OUTSIDE}=1 runs it (docs/contributing.md)"))
    _longest_first(items)


def _longest_first(items) -> None:
    """The longest files first, then the other process-level files, then the rest, each
    group in the run's random order (pytest-randomly shuffled them before this hook; the
    sort is stable). pytest-xdist hands out files in this order (`--no-loadscope-reorder`
    in pyproject.toml: its own order, the files with the most tests first, put files of a
    few long tests last): the short files at the end even out the processes' ends, where
    a long file handed out near the end could keep one process busy a minute and a half
    after the others had finished. A guard, not a measured gain (`docs/contributing.md`,
    "Where the time goes"). A node id starts with its file's path from the root."""
    def group(item) -> int:
        return 0 if item.nodeid.startswith(LONGEST) else 1 if item.get_closest_marker("process") else 2

    items.sort(key=group)


@pytest.fixture(scope="session")
def servers() -> tuple[str, str]:
    """Embedded PostgreSQL and Redis in a temporary data dir, one set per test process
    (external ones when the SANDBOX_DATABASE_URL / SANDBOX_REDIS_URL variables are set).
    PostgreSQL's cluster is a copy of `sandbox up`'s start-up template, migrated and
    seeded once per installed version: no initdb and no migration from nothing per
    process (tests/process/test_migrate_concurrently.py migrates a database from nothing)."""
    from sandbox.runtime import template
    from sandbox.runtime.embedded import servers_for_a_run

    with servers_for_a_run("sandbox-tests-", prepare=template.copy_fresh) as urls:
        yield urls


@pytest.fixture(scope="session")
async def stack(servers) -> AsyncIterator[Stack]:
    database_url, redis_url = servers
    os.environ["SANDBOX_DATABASE_URL"] = database_url
    os.environ["SANDBOX_REDIS_URL"] = redis_url
    os.environ.setdefault("SANDBOX_TIME_SCALE", "0")
    os.environ["SANDBOX_ADMIN_KEY"] = ADMIN_KEY
    os.environ["SANDBOX_RAIL_SECRET"] = RAIL_SECRET
    ipn_port = free_port()
    os.environ["SANDBOX_IPN_URL"] = f"http://127.0.0.1:{ipn_port}"
    from sandbox import db
    from sandbox.api.app import create_app
    from sandbox.settings import get_settings
    from seeds.seed import seed

    settings = get_settings()
    db.configure(database_url)
    await db.start()
    await db.migrate()
    await seed(ADMIN_KEY)
    await db.stop()

    from ipn.app import create_app as create_ipn_app

    port = free_port()
    api_server, api_task = await serve(create_app(settings), port)
    ipn_server, ipn_task = await serve(create_ipn_app(settings), ipn_port)
    try:
        yield Stack(database_url, redis_url, f"http://127.0.0.1:{port}", ADMIN_KEY, f"http://127.0.0.1:{ipn_port}")
    finally:
        for server in (ipn_server, api_server):
            server.should_exit = True
        await asyncio.gather(ipn_task, api_task)


@pytest.fixture
async def worker(stack) -> AsyncIterator[None]:
    """An arq worker in this event loop, for one test: payouts move while it watches.
    Tests without it see payouts stay where the API put them."""
    from worker.main import build_worker

    w = build_worker(shared_connections=True)
    task = asyncio.create_task(w.async_run())
    try:
        yield None
    finally:
        await w.stop_beside(task)


@pytest.fixture
async def admin(stack) -> AsyncIterator[Api]:
    api = Api(stack.base_url, stack.admin_key)
    yield api
    await api.aclose()


@pytest.fixture
async def merchant(stack) -> AsyncIterator[Api]:
    async for api in _a_tests_merchant(stack):
        yield api


@pytest.fixture
async def other_merchant(stack) -> AsyncIterator[Api]:
    async for api in _a_tests_merchant(stack):
        yield api


async def _a_tests_merchant(stack: Stack) -> AsyncIterator[Api]:
    api, merchant_id = await new_merchant(stack)
    api.merchant_id = merchant_id
    try:
        yield api
    finally:
        await api.aclose()
        await _leave_no_retries(merchant_id)


async def _leave_no_retries(merchant_id: str) -> None:
    """A test's webhook endpoints are disabled as it ends, so a delivery it left pending
    (its receiver or listener gone) closes at its next claim instead of being tried again
    and again: at SANDBOX_TIME_SCALE=0 each failed attempt's retry is due at once, and this
    process's one queue served those ahead of a later test's own jobs (under load, a retry
    that test awaited came after 30 s of them, `.ci/flakes-paths`, 28 Nov). Its deliveries
    waiting for a later attempt are closed as the API's disabling closes them: left pending,
    they were the longest due for every later claim in this process. Bounded: a test that
    froze or stopped PostgreSQL has left it to its own teardown."""
    from sandbox import db
    from sandbox.webhooks.store import deliveries

    with contextlib.suppress(Exception):
        async with asyncio.timeout(5):
            disabled = await db.fetch("UPDATE webhook_endpoint SET status = 'disabled', updated_at = now()"
                                      " WHERE merchant = $1 AND status = 'enabled' RETURNING id", merchant_id)
            for row in disabled:
                await deliveries.close_pending(row["id"], deliveries.FAILED, "endpoint disabled by the merchant")


@pytest.fixture
async def anonymous(stack) -> AsyncIterator[Api]:
    api = Api(stack.base_url, None)
    yield api
    await api.aclose()


@pytest.fixture
async def database(stack) -> AsyncIterator[None]:
    """Direct database access from a test (the same pool the app uses in this process)."""
    yield None
