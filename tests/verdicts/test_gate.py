"""`sandbox gate` as a CI step runs it, against a `sandbox up` in its own process: a
merchant that walked every scenario and retried safely passes (exit 0); one that fell
short of coverage, that paid twice after a lost answer, or whose receiver failed the
audit exits 1, saying why in words, in JUnit (validated against the JUnit schema CI
systems read) and in JSON; an unreachable sandbox or a refused key exits 2, never 1.
The pytest plugin's gates give the same verdict on the same merchants."""

from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
import xmlschema
from junitparser import Failure, JUnitXml

from sandbox import cli
from sandbox.client.blocking import expect
from sandbox.coverage.asked import SAFE_RETRIES_MEANS
from sandbox.payouts.model.scenarios import SCENARIO_NAMES
from sandbox.testing import plugin
from sandbox.testing.client import MypayMerchant, MypaySandbox
from sandbox.testing.embedded import EmbeddedSandbox, free_port
from sandbox.testing.receiver import WebhookReceiver

JUNIT = xmlschema.XMLSchema(Path(__file__).with_name("junit.xsd"))


@pytest.fixture(scope="module")
def sandbox():
    running = EmbeddedSandbox().start()
    client = MypaySandbox(running.url, running.admin_key)
    yield client
    client.close()
    running.stop()


def gate(capsys, *args: str) -> tuple[int, str, str]:
    code = cli.main(["gate", *args])
    out, err = capsys.readouterr()
    return code, out, err


def walk_every_scenario(sandbox: MypaySandbox, merchant: MypayMerchant) -> None:
    """Each scenario to its end on a manual clock, with the bank's answer and the operator's
    release where the scenario waits for them."""
    ids = {s["name"]: merchant.payout(s["name"])["id"] for s in sandbox.scenarios}
    merchant.advance(until="idle")
    expect(merchant.client.post(f"/sandbox/payouts/{ids['awaiting_ipn']}/simulate", json={"status": "success"}), 202)
    expect(sandbox.admin.post(f"/admin/payouts/{ids['on_hold']}/release", json={}), 200)
    merchant.advance(until="idle")
    merchant.wait_for_status(ids["awaiting_ipn"], "success", timeout=30)


def pay_after_a_lost_answer(merchant: MypayMerchant, same_key: bool) -> None:
    """The answer of the first POST is lost after the payout is made; the client retries
    with the same idempotency key (safe) or a new one (a second payout)."""
    merchant.fault("response_lost", path="/payouts", method="POST")
    body = {"amount": "2500.00", "currency": "PKR", "destination": {
        "type": "bank", "bank_code": "HBL", "account_number": merchant.account_number("success"),
        "account_title": "Ali Raza"}}
    key = uuid.uuid4().hex
    with pytest.raises(httpx.TransportError):
        merchant.client.post("/payouts", json=body, headers={"X-Idempotency-Key": key})
    retry = merchant.client.post("/payouts", json=body, headers={"X-Idempotency-Key": key if same_key else "x" + key})
    assert retry.status_code == 201


def junit_of(path: Path) -> dict[str, dict[str, str | None]]:
    """Validated against the schema; suite name → testcase name → failure message (None: passed)."""
    JUNIT.validate(str(path))
    found = {}
    for suite in JUnitXml.fromfile(str(path)):
        found[suite.name] = {case.name: next((r.message for r in case.result if isinstance(r, Failure)), None)
                             for case in suite}
    return found


@pytest.fixture(scope="module")
def careful(sandbox) -> MypayMerchant:
    merchant = sandbox.new_merchant(clock="manual")
    walk_every_scenario(sandbox, merchant)
    pay_after_a_lost_answer(merchant, same_key=True)
    return merchant


def test_a_merchant_that_walked_everything_and_retried_safely_passes(sandbox, careful, capsys, tmp_path):
    code, out, _ = gate(capsys, "--url", sandbox.url, "--key", careful.key, "--require-coverage", "all",
                        "--require-safe-retries", "--junit", str(tmp_path / "gate.xml"),
                        "--json", str(tmp_path / "gate.json"))
    assert code == 0, out
    assert f"  held  coverage: exercised all {len(SCENARIO_NAMES)} asked for: success, retry_then_success," in out
    held = next(line for line in out.splitlines() if line.startswith("  held  safe retries: "))
    assert held.startswith("  held  safe retries: 1 faulted write(s) recovered: POST /api/v1/payouts (request ")
    assert ", response_lost, payout po_" in held and ") retried with the same idempotency key by request " in held
    assert held.endswith(f"; no payout made twice. Checked: {SAFE_RETRIES_MEANS}")
    assert out.splitlines()[-1].startswith("gate held: every requirement held for 1 merchant(s)")
    assert junit_of(tmp_path / "gate.xml") == {f"sandbox gate {careful.id}": {"coverage": None, "safe_retries": None}}
    verdict = json.loads((tmp_path / "gate.json").read_text())
    assert verdict["held"] is True
    assert [(f["name"], f["held"]) for f in verdict["merchants"][0]["requirements"]] == \
        [("coverage", True), ("safe_retries", True)]


def test_coverage_and_untested_retries_fall_short_with_exit_1(sandbox, capsys, tmp_path):
    merchant = sandbox.new_merchant(clock="manual")
    merchant.payout("success")
    merchant.advance(until="idle")
    code, out, _ = gate(capsys, "--url", sandbox.url, "--key", merchant.key, "--require-coverage", "all",
                        "--require-safe-retries", "--junit", str(tmp_path / "gate.xml"))
    assert code == 1
    never = f"{len(SCENARIO_NAMES) - 1} of {len(SCENARIO_NAMES)} asked for fell short: " + ", ".join(
        f"{name} (never started)" for name in SCENARIO_NAMES if name != "success")
    assert f"  FELL SHORT  coverage: {never}" in out
    assert "  FELL SHORT  safe retries: never tested: no faulted write was recovered" in out
    assert junit_of(tmp_path / "gate.xml") == {f"sandbox gate {merchant.id}": {
        "coverage": f"coverage: {never}",
        "safe_retries": "safe retries: never tested: no faulted write was recovered"}}
    # A named list is judged on those names only; an unknown name cannot be judged (exit 2), naming it.
    assert gate(capsys, "--url", sandbox.url, "--key", merchant.key, "--require-coverage", "success")[0] == 0
    code, out, err = gate(capsys, "--url", sandbox.url, "--key", merchant.key, "--require-coverage", "sucess")
    assert (code, out) == (2, "") and f"'sucess': not a scenario of merchant {merchant.id}" in err
    # A misspelt name of the merchant's own: the refusal lists its own among what it knows.
    merchant.create_scenario("paid_at_once", [{"status": "processing", "submit": True}, {"status": "success"}])
    code, out, err = gate(capsys, "--url", sandbox.url, "--key", merchant.key, "--require-coverage", "paid_at_one")
    assert code == 2 and "'paid_at_one': not a scenario of merchant" in err
    assert f"{SCENARIO_NAMES[-1]}, paid_at_once; operator paths:" in err


def test_a_second_payout_after_a_lost_answer_falls_short_naming_both(sandbox, careful, capsys, tmp_path):
    careless = sandbox.new_merchant(clock="manual")
    walk_every_scenario(sandbox, careless)
    pay_after_a_lost_answer(careless, same_key=False)
    code, out, _ = gate(capsys, "--url", sandbox.url, "--key", careful.key, "--key", careless.key,
                        "--require-coverage", "all", "--require-safe-retries", "--junit", str(tmp_path / "gate.xml"))
    assert code == 1
    assert "  FELL SHORT  safe retries: a client paid twice after a fault (1 time(s))" in out
    [case] = [c for f in careless.coverage()["faults"] for c in f["cases"]]
    assert f"payout {case['payout_id']} was paid again as {case['duplicate_payout_id']} (fault response_lost" in out
    assert "gate FELL SHORT: 1 of 2 merchant(s) fell short" in out
    suites = junit_of(tmp_path / "gate.xml")
    assert suites[f"sandbox gate {careful.id}"] == {"coverage": None, "safe_retries": None}
    assert suites[f"sandbox gate {careless.id}"]["coverage"] is None
    assert suites[f"sandbox gate {careless.id}"]["safe_retries"] == \
        "safe retries: a client paid twice after a fault (1 time(s))"


class AcceptsAnything(BaseHTTPRequestHandler):
    """A receiver that never checks a signature: 204 to every webhook, forged or not."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args) -> None:
        pass


def test_a_receiver_that_accepts_forgeries_fails_the_audit_part(sandbox, careful, capsys, tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), AcceptsAnything)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        endpoint = expect(careful.client.post("/webhook-endpoints", json={
            "url": f"http://127.0.0.1:{server.server_port}/hooks", "signing": "hmac-sha256"}), 201)
        code, out, _ = gate(capsys, "--url", sandbox.url, "--key", careful.key, "--require-coverage", "all",
                            "--audit-endpoint", endpoint["id"], "--junit", str(tmp_path / "gate.xml"))
    finally:
        server.shutdown()
        server.server_close()
    assert code == 1
    assert "  held  coverage" in out
    assert "  FELL SHORT  receiver audit: " in out and "expected 4xx, got HTTP 204" in out
    message = junit_of(tmp_path / "gate.xml")[f"sandbox gate {careful.id}"]["receiver_audit"]
    assert message is not None and message.startswith("receiver audit: ") and "cases passed" in message


def test_a_receiver_that_verifies_passes_the_audit_part(sandbox, capsys):
    merchant = sandbox.new_merchant()
    receiver = WebhookReceiver(merchant)
    try:
        code, out, _ = gate(capsys, "--url", sandbox.url, "--key", merchant.key,
                            "--audit-endpoint", receiver.endpoint["id"])
    finally:
        receiver.close()
    assert code == 0, out
    assert "  held  receiver audit: " in out


def test_it_exits_2_when_it_cannot_judge(sandbox, careful, capsys, tmp_path):
    unreachable = f"http://127.0.0.1:{free_port()}"
    code, out, err = gate(capsys, "--url", unreachable, "--key", careful.key, "--require-coverage", "all",
                          "--junit", str(tmp_path / "gate.xml"))
    assert (code, out) == (2, "")
    assert err.startswith(f"sandbox: cannot reach {unreachable}")
    assert not (tmp_path / "gate.xml").exists()  # no report that blames the integration
    code, out, err = gate(capsys, "--url", sandbox.url, "--key", careful.key, "--key", "sk_test_not_a_key",
                          "--require-coverage", "all")
    assert (code, out) == (2, "")
    assert "the key sk_test_…_key was refused" in err and "401" in err
    code, _, err = gate(capsys, "--url", sandbox.url, "--key", careful.key, "--audit-endpoint", "we_nobodys")
    assert code == 2 and f"No webhook endpoint we_nobodys of merchant {careful.id} (code not_found)" in err
    other = sandbox.new_merchant()
    code, _, err = gate(capsys, "--url", sandbox.url, "--key", careful.key, "--key", other.key,
                        "--audit-endpoint", "we_nobodys")
    assert code == 2 and "no merchant among the keys given has the webhook endpoint we_nobodys" in err
    assert gate(capsys, "--url", sandbox.url, "--require-coverage", "all")[0] == 2  # no key at all


def test_the_plugin_and_the_command_give_the_same_verdict(sandbox, careful, capsys, tmp_path):
    """The plugin's gates judge the session's merchants; given the same merchant, the
    command says the same thing, passing or failing."""
    short = sandbox.new_merchant(clock="manual")
    short.payout("on_hold")
    short.advance(until="idle")
    # A scenario of its own, never paid on: `all` is the built-in table for both (the
    # plugin reads it with the admin key), and its own is gated by name.
    short.create_scenario("paid_at_once", [{"status": "processing", "submit": True}, {"status": "success"}])
    for merchant in (careful, short):
        session = MypaySandbox(sandbox.url, sandbox.admin_key)
        session.merchants = [merchant]
        gate(capsys, "--url", sandbox.url, "--key", merchant.key, "--require-coverage", "all",
             "--require-safe-retries", "--json", str(tmp_path / "gate.json"))
        coverage, retries = json.loads((tmp_path / "gate.json").read_text())["merchants"][0]["requirements"]
        found = plugin._coverage_finding(session, "all")
        assert (found.held, found.reason, found.missing) == (coverage["held"], coverage["reason"], coverage["missing"])
        found = plugin._retries_finding(session)
        assert (found.held, found.reason, found.details) == (retries["held"], retries["reason"], retries["details"])
        session.close()
    # Each key is judged on its own, whatever the order: the first key's own scenario is no
    # requirement of the next one's.
    code, out, _ = gate(capsys, "--url", sandbox.url, "--key", short.key, "--key", careful.key,
                        "--require-coverage", "all")
    assert code == 1
    assert out.count("paid_at_once") == 0, out
    assert f"  held  coverage: exercised all {len(SCENARIO_NAMES)} asked for" in out


def test_the_http_gate_and_the_command_say_the_same(sandbox, careful, capsys, tmp_path):
    """One judge: on the same merchant, POST /sandbox/gate and `sandbox gate` give the same
    verdict (held, fell short, or could not judge), the same JSON, the same JUnit, the
    same words."""
    short = sandbox.new_merchant(clock="manual")
    short.payout("success")
    short.advance(until="idle")
    asked = {"require_coverage": "all", "require_safe_retries": True}
    for merchant, status in ((careful, 0), (short, 1)):
        answer = httpx.post(f"{sandbox.url}/api/v1/sandbox/gate", json=asked, headers={"X-API-KEY": merchant.key})
        as_junit = httpx.post(f"{sandbox.url}/api/v1/sandbox/gate", json=asked,
                              headers={"X-API-KEY": merchant.key, "Accept": "application/xml"})
        assert answer.status_code == as_junit.status_code == 200
        assert answer.headers["sandbox-gate-held"] == as_junit.headers["sandbox-gate-held"] == \
            ("true" if status == 0 else "false")
        code, out, _ = gate(capsys, "--url", sandbox.url, "--key", merchant.key, "--require-coverage", "all",
                            "--require-safe-retries", "--junit", str(tmp_path / "gate.xml"),
                            "--json", str(tmp_path / "gate.json"))
        assert code == status
        assert json.loads((tmp_path / "gate.json").read_text()) == answer.json()
        assert (tmp_path / "gate.xml").read_bytes() == as_junit.content
        for requirement in answer.json()["merchants"][0]["requirements"]:
            said = "held" if requirement["held"] else "FELL SHORT"
            assert f"  {said}  {requirement['name'].replace('_', ' ')}: {requirement['reason']}\n" in out
    answer = httpx.post(f"{sandbox.url}/api/v1/sandbox/gate", json={"require_coverage": ["sucess"]},
                        headers={"X-API-KEY": short.key})
    assert answer.status_code == 422 and "sandbox-gate-held" not in answer.headers
    code, out, err = gate(capsys, "--url", sandbox.url, "--key", short.key, "--require-coverage", "sucess")
    assert (code, out) == (2, "") and answer.json()["detail"] in err


def test_the_schema_refuses_what_ci_systems_would_not_read():
    bad = b'<testsuites><testsuite name="x" tests="1" failures="1"><testcase name="y">' \
          b'<system-out>o</system-out><failure message="m"/></testcase></testsuite></testsuites>'
    assert not JUNIT.is_valid(bad.decode())
