"""`sandbox audit-webhooks`: the scorecard as a table, exit 1 on a failed case, the JUnit
file on request, and exit 2 with one line (never a traceback) when the audit could not
run: a CI step that branches on the status never blames the receiver for those."""

from __future__ import annotations

import asyncio

from junitparser import JUnitXml

from sandbox.cli import main
from tests.helpers import free_port
from tests.webhooks.audit_helpers import ALL_CASES, FORGERIES, register
from tests.webhooks.audit_receivers import Verifying, trusting
from tests.webhooks.receiver import Receiver


async def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = await asyncio.to_thread(main, list(argv))  # the API serves in this event loop meanwhile
    captured = capsys.readouterr()
    return code, captured.out, captured.err


async def test_a_failing_receiver_exits_1_with_the_table_and_junit(stack, merchant, capsys, tmp_path):
    receiver = await Receiver(responder=trusting).start()
    junit = tmp_path / "audit.xml"
    try:
        endpoint = await register(merchant, receiver)
        code, out, err = await run_cli(capsys, "audit-webhooks", "--endpoint", endpoint["id"], "--key", merchant.key,
                                       "--url", stack.base_url, "--junit", str(junit))
    finally:
        await receiver.stop()
    assert code == 1, err
    lines = out.splitlines()
    assert lines[0].endswith(f"(hmac-sha256): {len(ALL_CASES) - len(FORGERIES)} of {len(ALL_CASES)} cases passed")
    rows = {line.split()[0]: line.split() for line in lines[2:2 + len(ALL_CASES)]}
    assert list(rows) == ALL_CASES
    assert rows["wrong_secret"][-3:] == ["204", rows["wrong_secret"][-2], "FAIL"]
    assert rows["valid_event"][-1] == "pass"
    assert "Failed cases, what they sent and why it matters:" in lines
    assert any(line.startswith("  unsigned: sent an event without webhook-id") and
               line.endswith("A receiver that accepts unsigned requests accepts them from anyone who knows its URL.")
               for line in lines)
    assert lines[-1] == f"JUnit XML written to {junit}"
    (suite,) = list(JUnitXml.fromfile(str(junit)))
    assert (suite.tests, suite.failures) == (len(ALL_CASES), len(FORGERIES))


async def test_a_sound_receiver_exits_0(stack, merchant, capsys):
    receiver = await Receiver().start()
    try:
        endpoint = await register(merchant, receiver, "ed25519")
        receiver.responder = Verifying(endpoint)
        code, out, err = await run_cli(capsys, "audit-webhooks", "--endpoint", endpoint["id"], "--key", merchant.key,
                                       "--url", stack.base_url)
    finally:
        await receiver.stop()
    assert code == 0, out + err
    assert f"(ed25519): {len(ALL_CASES)} of {len(ALL_CASES)} cases passed" in out.splitlines()[0] and "FAIL" not in out


async def test_refusals_exit_2_in_one_line(stack, merchant, capsys):
    code, out, err = await run_cli(capsys, "audit-webhooks", "--endpoint", "we_nope", "--key", merchant.key,
                                   "--url", stack.base_url)
    assert (code, out) == (2, "")
    assert err == ("sandbox: POST /api/v1/webhook-endpoints/we_nope/audit answered 404: Not found: "
                   "No webhook endpoint we_nope (code not_found)\n")
    code, out, err = await run_cli(capsys, "audit-webhooks", "--endpoint", "we_nope", "--key", "sk_test_wrong",
                                   "--url", stack.base_url)
    assert code == 2 and len(err.splitlines()) == 1 and err.endswith("(code unauthenticated)\n")
    assert "Traceback" not in err


async def test_an_unreachable_sandbox_exits_2(capsys):
    port = free_port()  # nothing listens there
    code, out, err = await run_cli(capsys, "audit-webhooks", "--endpoint", "we_any", "--key", "sk_test_any",
                                   "--url", f"http://127.0.0.1:{port}")
    assert (code, out) == (2, "")
    assert err.startswith(f"sandbox: cannot reach http://127.0.0.1:{port}") and len(err.splitlines()) == 1
