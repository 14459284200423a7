"""`sandbox pact verify` judges only the pact shapes it models (sandbox/pact/shapes.py) and
refuses every other before the verifier runs: exit 2, a JUnit error, words naming the shape
and what is modelled. Each case here once verified (exit 0) or was judged wrong: a V3
message with a request, a V4 synchronous message, two provider states on one interaction;
and a V3 pact's HTTP interaction took the result of a message of the same description."""

from __future__ import annotations

import json
from pathlib import Path

from tests.pact.test_verify import every_part_serves, hand_pact, verify  # noqa: F401

READY = {"method": "GET", "path": "/api/v1/ready"}
CLOSED = {"name": "a payout", "params": {"scenario": "failed_account_closed"}}
MISSING = {"method": "GET", "path": "/api/v1/payouts/po_missing", "headers": {"X-API-KEY": "sk_test_x"}}


async def refused(stack, folder: Path, pact: Path, *words: str) -> dict:
    code, out = await verify(stack, str(pact), "--json", str(folder / "r.json"), "--junit", str(folder / "r.xml"))
    assert code == 2, out
    assert "0 of 1 interaction(s) verified" in out and f"not judged {pact}:" in out, out
    for said in words:
        assert said in out, out
    junit = (folder / "r.xml").read_text()
    assert 'errors="1"' in junit and "the pact's shape is not modelled" in junit, junit
    return json.loads((folder / "r.json").read_text())[0]


async def test_a_v3_message_with_a_request_and_a_response_is_refused(stack, tmp_path):
    pact = hand_pact(tmp_path, "v3-request", [{
        "description": "a GET of a payout that does not exist answers 418", "providerStates": [{"name": "a merchant"}],
        "request": MISSING, "response": {"status": 418}}], version="3.0.0", key="messages")
    written = await refused(stack, tmp_path, pact, "messages[0]", "a message with a `request` or a `response`",
                            "Modelled in a V3 pact")
    assert written["verifier"] is None and written["counts"]["verified"] == 0


async def test_a_v4_synchronous_message_is_refused(stack, tmp_path):
    pact = hand_pact(tmp_path, "sync", [{
        "type": "Synchronous/Messages", "description": "a refund command answered by a payout.failed webhook",
        "providerStates": [CLOSED],
        "request": {"contents": {"contentType": "application/json", "encoded": False,
                                 "content": {"command": "refund everything"}}},
        "response": [{"contents": {"contentType": "application/json", "encoded": False,
                                   "content": {"type": "payout.failed"}}}]}])
    await refused(stack, tmp_path, pact, "a synchronous (request/reply) message",
                  "no request/reply message channel")


async def test_two_provider_states_are_refused_in_either_order_and_the_rule_is_in_json(stack, tmp_path):
    for order in ([CLOSED, {"name": "a merchant"}], [{"name": "a merchant"}, CLOSED]):
        pact = hand_pact(tmp_path, "two-states", [{
            "type": "Synchronous/HTTP", "description": "a failed payout", "providerStates": order,
            "request": {"method": "GET", "path": "/api/v1/payouts/po_x"}, "response": {"status": 200}}])
        written = await refused(stack, tmp_path, pact, "2 provider states", "at most one provider state")
        assert "at most one provider state per interaction" in written["modelled"]["providerStates"]
        assert "2 provider states" in written["notModelled"]


async def test_an_http_interaction_and_a_message_of_one_description_keep_their_own_outcomes(stack, tmp_path):
    """A V3 pact's HTTP interactions never run when it has messages too: the message's result
    is the message's, and the summary and JUnit say so, not the other way round."""
    path = tmp_path / "same.json"
    path.write_text(json.dumps({
        "consumer": {"name": "same"}, "provider": {"name": "MyPay"},
        "metadata": {"pactSpecification": {"version": "3.0.0"}},
        "interactions": [{"description": "a payout.failed webhook", "providerStates": [{"name": "a merchant"}],
                          "request": READY, "response": {"status": 200}}],
        "messages": [{"description": "a payout.failed webhook", "providerStates": [CLOSED],
                      "contents": {"type": "payout.failed"}, "metadata": {"contentType": "application/json"}}]}))
    code, out = await verify(stack, str(path), "--json", str(tmp_path / "r.json"), "--junit", str(tmp_path / "r.xml"))
    assert code == 1, out
    written = json.loads((tmp_path / "r.json").read_text())[0]["interactions"]
    assert [i["outcome"] for i in written] == ["failed", "verified"], written
    assert "reads only the `messages`" in written[0]["words"][0], written
    lines = out.splitlines()
    assert lines.index(f"FAILED    {path}: a payout.failed webhook") < lines.index(
        f"verified  {path}: a payout.failed webhook"), out
    junit = (tmp_path / "r.xml").read_text()
    assert 'tests="2"' in junit and 'failures="1"' in junit, junit


async def test_every_shape_the_guide_lists_still_runs(stack, tmp_path):
    """The shapes modelled are not refused: V2 and V1.1 HTTP with a providerState."""
    for version in ("2.0.0", "1.1.0"):
        pact = hand_pact(tmp_path, f"v{version}", [{"description": "the sandbox is ready",
                                                    "providerState": "a merchant", "request": READY,
                                                    "response": {"status": 200}}], version=version)
        code, out = await verify(stack, str(pact))
        assert code == 0 and "1 of 1 interaction(s) verified" in out, out


WEBHOOK_V4 = {"type": "Asynchronous/Messages", "description": "a payout.failed webhook",
              "providerStates": [CLOSED], "metadata": {"contentType": "application/json"},
              "contents": {"contentType": "application/json", "encoded": False,
                           "content": {"type": "payout.failed", "data": {"status": "failed",
                                                                         "failure_code": "account_closed"}}}}
READY_V4 = {"type": "Synchronous/HTTP", "description": "the sandbox is ready",
            "providerStates": [{"name": "a merchant"}], "request": READY, "response": {"status": 200}}


async def test_a_version_the_pact_core_reads_otherwise_exits_2_in_words(stack, tmp_path):
    """Issue 91, case 3: a V4 pact that verifies as the guide writes it, its version spelled
    `pactSpecificationVersion` (alone, or beside an empty `pactSpecification`). The sandbox
    read V4; the Pact core reads no version there and verified it as V3 (the message became
    `GET /` expecting 200): exit 1, with mismatches nobody wrote. Now refused, exit 2."""
    as_written = hand_pact(tmp_path, "as-written", [READY_V4, WEBHOOK_V4])
    code, out = await verify(stack, str(as_written))
    assert code == 0 and "2 of 2 interaction(s) verified" in out, out
    for metadata in ({"pactSpecificationVersion": "4.0.0"},
                     {"pactSpecification": {}, "pactSpecificationVersion": "4.0.0"}):
        pact = json.loads(as_written.read_text())
        pact["metadata"] = metadata
        respelled = tmp_path / "respelled.json"
        respelled.write_text(json.dumps(pact))
        code, out = await verify(stack, str(respelled))
        assert code == 2, out
        assert "metadata.pactSpecificationVersion '4.0.0': the Pact core does not read this key" in out, out
        assert "0 of 2 interaction(s) verified" in out, out


async def test_the_old_jvm_spelling_is_read_by_both_as_the_version_it_says(stack, tmp_path):
    """`pact-specification` (pact-jvm 2 and 3): the Pact core reads it as `pactSpecification`,
    and so does the sandbox: a V2 pact so spelled verifies as V2."""
    pact = hand_pact(tmp_path, "jvm-2", [{"description": "the sandbox is ready", "providerState": "a merchant",
                                          "request": READY, "response": {"status": 200}}], version="2.0.0")
    written = json.loads(pact.read_text())
    written["metadata"] = {"pact-specification": {"version": "2.0.0"}, "pact-jvm": {"version": "2.4.18"}}
    pact.write_text(json.dumps(written))
    code, out = await verify(stack, str(pact), "--json", str(tmp_path / "r.json"))
    assert code == 0 and "1 of 1 interaction(s) verified" in out, out
    assert json.loads((tmp_path / "r.json").read_text())[0]["modelled"]["specification"] == "2"
