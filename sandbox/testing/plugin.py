"""pytest plugin for testing an integration against MyPay Sandbox (entry point
`pytest11`, installed with the package). Every fixture is prefixed `mypay_` and does
nothing until a test asks for it, so installing the package changes no other suite.

- `mypay_sandbox` (session): the sandbox named by MYPAY_SANDBOX_URL + MYPAY_ADMIN_KEY,
  else an embedded `sandbox up` on free ports in a temporary data dir with
  SANDBOX_TIME_SCALE=0, stopped with everything it started at the end of the session.
  With `--mypay-sandbox=container`: the image in a container of its own instead
  (`sandbox.testing.containers`, the `testcontainers` extra), removed at the end.
- `mypay_merchant`: a fresh merchant per test; `.client` is an httpx.Client with its key
  and a fresh idempotency key on every mutating request. `@pytest.mark.mypay_clock("manual")`
  asks for a merchant on a manual clock: its payouts move only on
  `mypay_merchant.advance(seconds=N)` or `.advance(until="idle")`, at exact clock times.
- `mypay_webhooks`: a local receiver registered for that merchant, verifying every delivery
  with `standardwebhooks`; `.wait_for(type, payout_id, timeout)`.
- `mypay_audit_receiver(url, use_secret, signing="hmac-sha256")`: the receiver audit of
  your webhook receiver at `url` in one call (a throwaway merchant, its key handed to
  `use_secret`); fails the test with the scorecard when a case fails, else returns it.
- `mypay_account_number(scenario)`, `mypay_wait_for_status(payout_id, status, timeout)`.
- `--mypay-require-coverage=all|name,...`: at the end, fail the session unless the
  session's merchants reached the end of every named scenario (or took every named
  operator path: simulate, reinitiate, cancel, approve, reject, release); `all` means
  what `sandbox.coverage.asked.EVERY_SCENARIO_MEANS` says. The summary says what fell
  short in the gate's words (never started, started and stopped at a status, never taken).
- `--mypay-require-safe-retries`: at the end, fail the session unless a fault after commit
  was recovered, and if any merchant's client paid twice after a fault (a request's answer
  lost, held or replaced by a 500 after the payout was made, then another payout to the
  same destination for the same amount under another idempotency key), naming both
  payouts.
  Both gates ask the sandbox's verdict (POST /sandbox/gate, with the admin key, the
  session's merchants judged together), which `sandbox gate` asks too. `mypay_merchant.fault(...)` makes rules,
  `mypay_merchant.requests(**filters)` reads the request log; under a failing test the
  plugin prints that merchant's last requests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.coverage.asked import EVERY_SCENARIO, EVERY_SCENARIO_MEANS, OPERATOR_PATHS, SAFE_RETRIES_MEANS
from sandbox.settings import plugin_env
from sandbox.testing.client import MypayMerchant, MypaySandbox
from sandbox.verdicts.schemas import GateRequirement

_COVERAGE = pytest.StashKey[GateRequirement]()
_EMBEDDED = pytest.StashKey[str]()
_RETRIES = pytest.StashKey[GateRequirement]()
COULD_NOT_JUDGE = "could not judge: "
"""A gate's reason when the sandbox refused what was asked (a name or shape it does not
model or know, 422): the session exits as a usage error (4), as `sandbox gate` exits 2,
never as a requirement that fell short, and the line says so."""
LAST_REQUESTS = 20  # printed under a failing test
ELSEWHERE = ("From this test run itself: `--mypay-sandbox=container` starts the image with Testcontainers "
             "(Docker Desktop or Podman), or MYPAY_SANDBOX_URL and MYPAY_ADMIN_KEY name a sandbox running "
             "elsewhere (`sandbox up` in WSL answers at http://127.0.0.1:8000).")
"""Where the embedded sandbox cannot run (Windows): the plugin's other two ways."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mypay", "MyPay Sandbox")
    group.addoption("--mypay-require-coverage", metavar="all|NAME,...", default=None,
                    help="fail the session unless its merchants reached the end of these scenarios or took these "
                         f"operator paths ({', '.join(OPERATOR_PATHS)}); {EVERY_SCENARIO}: {EVERY_SCENARIO_MEANS}")
    group.addoption("--mypay-require-safe-retries", action="store_true", default=False,
                    help=f"fail the session unless {SAFE_RETRIES_MEANS}")
    group.addoption("--mypay-sandbox", choices=("auto", "container"), default="auto",
                    help="auto: MYPAY_SANDBOX_URL's sandbox, else an embedded `sandbox up`; container: the "
                         "image (MYPAY_SANDBOX_IMAGE) started with Testcontainers")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "mypay_clock(kind): create this test's mypay_merchant on a clock "
                                       "('manual' or 'live')")


@pytest.fixture(scope="session")
def mypay_sandbox(request: pytest.FixtureRequest) -> Iterator[MypaySandbox]:
    env = plugin_env()
    embedded = container = None
    webhook_host = env.webhook_host or "127.0.0.1"
    if request.config.getoption("--mypay-sandbox") == "container":
        from sandbox.testing.containers import MyPaySandboxContainer

        container = MyPaySandboxContainer().start()
        url, admin_key, webhook_host = container.get_api_url(), container.admin_key, container.host_name
    elif env.sandbox_url:
        if not env.admin_key:
            raise pytest.UsageError("MYPAY_SANDBOX_URL is set without MYPAY_ADMIN_KEY (needed to make merchants)")
        url, admin_key = env.sandbox_url, env.admin_key
    else:
        from sandbox.testing.embedded import CannotRunHere, EmbeddedSandbox

        try:
            embedded = EmbeddedSandbox().start()
        except CannotRunHere as exc:
            pytest.fail(f"mypay: {exc} {ELSEWHERE}", pytrace=False)
        url, admin_key = embedded.url, embedded.admin_key
        request.config.stash[_EMBEDDED] = f"mypay: embedded sandbox at {url} (data in {embedded.data_dir}), stopped"
    sandbox = MypaySandbox(url, admin_key, webhook_host)
    try:
        yield sandbox
        # Here, not at session finish: the sandbox is still up to answer.
        required = request.config.getoption("--mypay-require-coverage")
        if required:
            request.config.stash[_COVERAGE] = _coverage_finding(sandbox, required)
        if request.config.getoption("--mypay-require-safe-retries"):
            request.config.stash[_RETRIES] = _retries_finding(sandbox)
    finally:
        sandbox.close()
        if embedded is not None:
            embedded.stop()
        if container is not None:
            container.stop()


def _verdict(sandbox: MypaySandbox, name: str, **asked) -> GateRequirement:
    """The sandbox's verdict on the session's merchants together (one per test: the
    integration is all of them), as `sandbox gate` gets it for one merchant: the same judge.
    A request the sandbox cannot judge (an unknown name, no merchant made) falls short,
    saying why."""
    from sandbox.client import answers
    from sandbox.verdicts.schemas import GateVerdict

    if not sandbox.merchants:
        return GateRequirement(name=name, held=False, reason="no test made a merchant")  # type: ignore[arg-type]
    body = {**asked, "merchants": [m.id for m in sandbox.merchants], "together": True}
    answer = answers.read(sandbox.admin.post("/sandbox/gate", json=body))
    try:
        together = answers.decoded(answer, 200, GateVerdict).together
    except answers.Refused as exc:
        return GateRequirement(name=name, held=False, reason=f"{COULD_NOT_JUDGE}{exc.problem.detail}",  # type: ignore[arg-type]
                               missing=[f"{asked.get('require_coverage')} ({exc.problem.detail})"])
    if together is None or len(together.requirements) != 1:
        raise answers.NotTheApi(f"{answer.asked} answered no verdict on the merchants together")
    return together.requirements[0]


def _coverage_finding(sandbox: MypaySandbox, required: str) -> GateRequirement:
    """What `sandbox gate --require-coverage` would say, judged over the session's merchants
    together."""
    names = EVERY_SCENARIO if required.strip() == EVERY_SCENARIO else [
        n.strip() for n in required.split(",") if n.strip()]
    return _verdict(sandbox, "coverage", require_coverage=names)


def _retries_finding(sandbox: MypaySandbox) -> GateRequirement:
    """What `sandbox gate --require-safe-retries` would say of the session's merchants."""
    return _verdict(sandbox, "safe_retries", require_safe_retries=True)


def _failed(found: GateRequirement) -> pytest.ExitCode:
    return pytest.ExitCode.USAGE_ERROR if found.reason.startswith(COULD_NOT_JUDGE) else pytest.ExitCode.TESTS_FAILED


def _said(found: GateRequirement) -> str:
    if found.reason.startswith(COULD_NOT_JUDGE):
        return f"COULD NOT JUDGE: {found.reason.removeprefix(COULD_NOT_JUDGE)}"
    return f"FAILED: {found.reason}"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    retries = session.config.stash.get(_RETRIES, None)
    if retries is not None and not retries.held and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = _failed(retries)
    required = session.config.getoption("--mypay-require-coverage")
    if not required or session.config.option.collectonly:
        return
    found = session.config.stash.get(_COVERAGE, None)
    if found is None:  # no test used the sandbox
        found = GateRequirement(name="coverage", held=False, reason=f"{required}: no test used mypay_sandbox",
                                missing=[required])
        session.config.stash[_COVERAGE] = found
    if not found.held and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = _failed(found)


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if _EMBEDDED in config.stash:
        terminalreporter.write_line(config.stash[_EMBEDDED])
    retries = config.stash.get(_RETRIES, None)
    if retries is not None and not retries.held:
        terminalreporter.write_line(f"mypay safe-retries gate {_said(retries)}", red=True)
        for line in retries.details:
            terminalreporter.write_line("  " + line, red=True)
    elif retries is not None:
        terminalreporter.write_line(f"mypay safe-retries gate passed: {retries.reason}", green=True)
    found = config.stash.get(_COVERAGE, None)
    if found is None:
        return
    if not found.held:
        terminalreporter.write_line(f"mypay coverage gate {_said(found)}", red=True)
    else:
        terminalreporter.write_line(f"mypay coverage gate passed: {found.reason}", green=True)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Under a failing test, the last requests of its merchant, as the sandbox logged them."""
    report = yield
    merchant = getattr(item, "funcargs", {}).get("mypay_merchant")
    if report.when == "call" and report.failed and isinstance(merchant, MypayMerchant):
        try:
            text = render_requests(merchant.requests(limit=LAST_REQUESTS))
        except Exception as exc:  # noqa: BLE001 - the failure itself matters more than this aid
            text = f"(could not read the request log: {exc})"
        report.sections.append((f"mypay: last requests of merchant {merchant.id}, newest first", text))
    return report


def render_requests(entries: list[dict]) -> str:
    lines = []
    for e in entries:
        key = f" key={e['idempotency_key']} ({e['idempotency_outcome']})" if e["idempotency_key"] else ""
        fault = f" FAULT={e['fault']}" if e["fault"] else ""
        objects = f" {','.join(e['object_ids'])}" if e["object_ids"] else ""
        lines.append(f"{e['at']} {e['method']} {e['path']} -> {e['status']}{key}{fault}{objects} [{e['id']}]")
    return "\n".join(lines) or "(none)"


@pytest.fixture
def mypay_merchant(mypay_sandbox: MypaySandbox, request: pytest.FixtureRequest) -> Iterator[MypayMerchant]:
    marker = request.node.get_closest_marker("mypay_clock")
    clock = (marker.args[0] if marker.args else marker.kwargs.get("kind")) if marker else None
    merchant = mypay_sandbox.new_merchant(clock=clock)
    yield merchant
    merchant.close()


@pytest.fixture
def mypay_webhooks(mypay_merchant: MypayMerchant):
    from sandbox.testing.receiver import WebhookReceiver

    receiver = WebhookReceiver(mypay_merchant)
    try:
        yield receiver
    finally:
        receiver.close()
    if receiver.rejected:
        pytest.fail(f"webhook deliveries failed standardwebhooks verification: {receiver.rejected}")


@pytest.fixture
def mypay_audit_receiver(mypay_sandbox: MypaySandbox):
    from sandbox.testing.audit import render

    def audit(url: str, use_secret, signing: str = "hmac-sha256") -> dict:
        result = mypay_sandbox.audit_receiver(url, use_secret, signing)
        if not result["passed"]:
            pytest.fail("the webhook receiver failed the audit\n" + render(result), pytrace=False)
        return result

    return audit


@pytest.fixture
def mypay_account_number(mypay_sandbox: MypaySandbox):
    return mypay_sandbox.account_number


@pytest.fixture
def mypay_wait_for_status(mypay_merchant: MypayMerchant):
    return mypay_merchant.wait_for_status
