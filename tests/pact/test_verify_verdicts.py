"""`sandbox pact verify`'s verdict on pacts that once passed for what did not happen: every
interaction in the files is verified or named as not (a count that holds end to end),
pending failures are said as such, and a pact the verifier cannot load exits 2."""

from __future__ import annotations

import json
from pathlib import Path

from tests.pact.test_verify import every_part_serves, hand_pact, verify  # noqa: F401

READY = {"method": "GET", "path": "/api/v1/ready"}


def http(description: str, status: int = 200, **extra) -> dict:
    return {"type": "Synchronous/HTTP", "description": description, "providerStates": [{"name": "a merchant"}],
            "request": READY, "response": {"status": status}, **extra}


def failed_message(description: str = "a payout.failed webhook") -> dict:
    return {"description": description, "providerStates": [
        {"name": "a payout", "params": {"scenario": "failed_account_closed"}}],
            "contents": {"type": "payout.failed"}, "metadata": {"contentType": "application/json"}}


def v3_both(folder: Path) -> Path:
    """A V3 pact with an `interactions` list and a `messages` list: the Pact core loads only
    the messages."""
    path = folder / "both.json"
    path.write_text(json.dumps({
        "consumer": {"name": "both"}, "provider": {"name": "MyPay"},
        "metadata": {"pactSpecification": {"version": "3.0.0"}},
        "interactions": [{"description": "the sandbox is ready", "providerState": "a merchant",
                          "request": READY, "response": {"status": 200}},
                         {"description": "a state nobody has", "providerStates": [{"name": "a refund"}],
                          "request": READY, "response": {"status": 200}}],
        "messages": [failed_message()]}))
    return path


async def test_a_v3_pact_with_interactions_and_messages_runs_or_names_each(stack, tmp_path):
    path = v3_both(tmp_path)
    code, out = await verify(stack, str(path), "--json", str(tmp_path / "r.json"), "--junit", str(tmp_path / "r.xml"))
    assert code == 1, out
    assert "1 of 3 interaction(s) verified" in out and ": 1 refused, 1 failed" in out, out
    assert f"FAILED    {path}: the sandbox is ready" in out and "reads only the `messages`" in out, out
    assert "refused: 400: 'a refund': state: unknown state" in out, out  # the pre-check's refusal kept
    written = json.loads((tmp_path / "r.json").read_text())[0]
    assert written["counts"] == {"verified": 1, "refused": 1, "failed": 1, "pending": 0}
    junit = (tmp_path / "r.xml").read_text()
    assert 'tests="3"' in junit and 'failures="2"' in junit, junit


async def test_a_message_naming_two_event_types_fails_in_words(stack, tmp_path):
    pact = hand_pact(tmp_path, "two", [{
        "type": "Asynchronous/Messages", "description": "after payout.success, a payout.returned webhook",
        "contents": {"contentType": "application/json", "encoded": False, "content": {"id": "evt_1"}},
        "matchingRules": {"body": {"$.id": {"combine": "AND", "matchers": [{"match": "type"}]}}}}])
    code, out = await verify(stack, str(pact))
    assert code == 1 and "0 of 1 interaction(s) verified against" in out and ": 1 refused" in out, out
    assert "names 2 event types (payout.success, payout.returned)" in out, out


def pending_pact(folder: Path) -> Path:
    return hand_pact(folder, "pending", [
        http("ready"),
        http("ready, expected 201", 201, pending=True),
        http("a state nobody has", pending=True, providerStates=[{"name": "a refund"}])])


async def test_pending_failures_are_said_and_count_with_the_flag(stack, tmp_path):
    """A pending interaction that fails and a pending one refused are alike: 'pending,
    failed', exit 0 as Pact's pending has it, exit 1 with --fail-pending; the JUnit says
    the mismatch in words either way."""
    pact = pending_pact(tmp_path)
    code, out = await verify(stack, str(pact), "--junit", str(tmp_path / "r.xml"))
    assert code == 0, out
    assert "1 of 3 interaction(s) verified against" in out and ": 2 pending, failed" in out, out
    assert f"PENDING   {pact}: ready, expected 201" in out and f"PENDING   {pact}: a state nobody has" in out, out
    assert "--fail-pending makes them count" in out
    junit = (tmp_path / "r.xml").read_text()
    assert "expected 201 but was 200" in junit and 'message="{}"' not in junit and "unknown state" in junit, junit
    assert 'skipped="2"' in junit and 'failures="0"' in junit, junit
    code, out = await verify(stack, str(pact), "--fail-pending", "--junit", str(tmp_path / "r.xml"))
    assert code == 1 and ": 2 pending, failed" in out, out
    assert 'failures="2"' in (tmp_path / "r.xml").read_text()


async def test_a_pact_of_a_shape_not_modelled_exits_2_with_an_error_case(stack, tmp_path):
    """A type misspelt or missing: the verifier could not load it; it is refused before, in
    words naming the shape and what is modelled."""
    misspelt = hand_pact(tmp_path, "misspelt", [http("ready", type="Synchronous/HTTTP")])
    no_type = hand_pact(tmp_path, "no-type", [{k: v for k, v in http("ready").items() if k != "type"}])
    for path, why in ((misspelt, "type 'Synchronous/HTTTP', not modelled"), (no_type, "'type' is a required")):
        code, out = await verify(stack, str(path), "--junit", str(tmp_path / "r.xml"))
        assert code == 2, out
        assert f"not judged {path}" in out and why in out and "0 of 1 interaction(s) verified" in out, out
        assert "Modelled in a V4 pact: `Synchronous/HTTP` interactions" in out, out
        junit = (tmp_path / "r.xml").read_text()
        assert 'errors="1"' in junit and why in junit and 'failures="1"' in junit, junit


async def test_the_pact_cores_log_lines_stay_out_and_go_to_json(stack, tmp_path):
    """pact_ffi logs `ERROR … Invalid status code: 400` for a refused state and `WARNING`
    for an interaction it ignores: what they say, the verdict says in the sandbox's words;
    the lines themselves are kept in --json."""
    pact = hand_pact(tmp_path, "refused", [http("a state nobody has", providerStates=[{"name": "a refund"}])])
    code, out = await verify(stack, str(pact), "--json", str(tmp_path / "r.json"))
    assert code == 1 and "unknown state" in out, out
    assert "pact.ffi" not in out and "Invalid status code" not in out, out
    log = json.loads((tmp_path / "r.json").read_text())[0]["verifierLog"]
    assert any("Invalid status code: 400" in line for line in log), log


async def test_a_v3_pact_has_no_pending(stack, tmp_path):
    """`"pending": true` means nothing to a V3 pact's verifier: refused, not let off."""
    pact = hand_pact(tmp_path, "v3-pending", [{"description": "ready, expected 201", "pending": True,
                                               "providerState": "a merchant", "request": READY,
                                               "response": {"status": 201}}], version="3.0.0")
    code, out = await verify(stack, str(pact))
    assert code == 2 and "0 of 1 interaction(s) verified against" in out and ": 1 failed" in out, out
    assert "`pending` is a V4 key: a V3 verifier ignores it" in out, out
