"""`sandbox pact verify` against a running sandbox, on the pact examples/pact-python's
consumer tests record: as recorded it verifies (exit 0); made wrong (200 where the API
answers 201, a webhook field the sandbox never sends) it fails naming both (exit 1); and
what cannot be verified at all exits 2."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import httpx
import pytest

from sandbox.client.blocking import tls
from tests.helpers import wait_for

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "pact-python"


@pytest.fixture(autouse=True)
async def every_part_serves(stack, worker):
    """`sandbox pact verify` starts only against a sandbox whose /ready answers 200, which it
    does once the API, the IPN and a worker serve: the suite's stack has no worker of its
    own until a test asks for one."""
    async def ready() -> bool:
        async with httpx.AsyncClient(verify=tls()) as c:
            return (await c.get(stack.base_url + "/api/v1/ready")).status_code == 200
    await wait_for(ready, what="/ready to answer 200")


async def run(*args: str, env: dict | None = None, cwd: Path | None = None) -> tuple[int, str]:
    # Its own process: the verifier blocks, and the API answering it runs in this event loop.
    proc = await asyncio.create_subprocess_exec(*args, env={**os.environ, **(env or {})}, cwd=cwd,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode()


async def verify(stack, *args: str) -> tuple[int, str]:
    return await run(sys.executable, "-m", "sandbox.cli", "pact", "verify", "--url", stack.base_url,
                     "--admin-key", stack.admin_key, *args)


@pytest.fixture(scope="module")
async def example_pact(tmp_path_factory) -> str:
    """The example consumer's pact, recorded once by its own tests."""
    folder = tmp_path_factory.mktemp("example-pact")
    code, out = await run(sys.executable, "-m", "pytest", "-q", "test_consumer.py", env={"PACT_DIR": str(folder)},
                          cwd=EXAMPLE)
    assert code == 0, out
    return (folder / "payout-console-python-MyPay.json").read_text()


@pytest.fixture
def pact_file(example_pact, tmp_path) -> Path:
    path = tmp_path / "payout-console-python-MyPay.json"
    path.write_text(example_pact)
    return path


def made_wrong(pact_file: Path) -> None:
    pact = json.loads(pact_file.read_text())
    for interaction in pact["interactions"]:
        if interaction["description"] == "a new payout":
            interaction["response"]["status"] = 200
        if interaction["description"] == "a payout.failed webhook":
            interaction["contents"]["content"]["data"]["failure_reason"] = "closed"
    pact_file.write_text(json.dumps(pact))


async def test_the_example_pact_verifies_twice_at_once(stack, tmp_path, pact_file):
    """Two verifications side by side (two CI jobs, say) each get states of their own."""
    runs = await asyncio.gather(*(verify(stack, str(pact_file), "--junit", str(tmp_path / f"pact-{i}.xml"))
                                  for i in range(2)))
    for i, (code, out) in enumerate(runs):
        assert code == 0, out
        assert "4 of 4 interaction(s) verified" in out and f"verified  {pact_file}: a payout.failed webhook" in out
        assert 'failures="0"' in (tmp_path / f"pact-{i}.xml").read_text()


async def test_a_wrong_pact_fails_naming_the_field(stack, tmp_path, pact_file):
    made_wrong(pact_file)
    code, out = await verify(stack, str(tmp_path), "--json", str(tmp_path / "results.json"))
    print(out)
    assert code == 1, out
    assert "expected 200 but was 201" in out
    assert "$.data -> Actual map is missing the following keys: failure_reason" in out
    assert f"FAILED    {pact_file}: a new payout" in out and f"FAILED    {pact_file}: a payout.failed webhook" in out
    assert "2 of 4 interaction(s) verified" in out
    written = json.loads((tmp_path / "results.json").read_text())[0]
    assert written["counts"] == {"verified": 2, "refused": 0, "failed": 2, "pending": 0}
    assert written["verifier"]["result"] is False  # the verifier's own results, as it gave them


async def test_what_cannot_be_verified_exits_2(stack, tmp_path, pact_file):
    not_a_pact = tmp_path / "notes.json"
    not_a_pact.write_text('{"hello": 1}')
    code, out = await verify(stack, str(not_a_pact))
    assert code == 2 and "not a pact" in out, out
    code, out = await verify(stack, str(tmp_path / "missing.json"))
    assert code == 2 and "no such file" in out, out
    code, out = await run(sys.executable, "-m", "sandbox.cli", "pact", "verify", "--url", "http://127.0.0.1:9",
                          "--admin-key", "k", str(pact_file))
    assert code == 2 and "cannot reach the sandbox" in out, out


def hand_pact(folder: Path, name: str, interactions: list[dict], version: str = "4.0", key: str = "interactions") \
        -> Path:
    """A pact written by hand, as the guide shows one."""
    path = folder / f"{name}.json"
    path.write_text(json.dumps({"consumer": {"name": name}, "provider": {"name": "MyPay"},
                                "metadata": {"pactSpecification": {"version": version}}, key: interactions}))
    return path


def returned_message(description: str, contents: dict, **extra) -> dict:
    return {"type": "Asynchronous/Messages", "description": description, "contents": contents,
            "providerStates": [{"name": "a payout", "params": {"scenario": "failed_account_closed"}}], **extra}


async def test_a_message_the_scenario_never_sends_fails_however_loose(stack, tmp_path):
    """payout.returned under failed_account_closed: no body, the problem's own body, a type
    matcher on the whole body; each fails, with the sandbox's words everywhere."""
    pact = hand_pact(tmp_path, "loose", [
        returned_message("a payout.returned webhook, no body", {}),
        returned_message("a payout.returned webhook, a problem body", {
            "contentType": "application/problem+json", "encoded": False, "content": {"status": 400}}),
        returned_message("a payout.returned webhook, any object", {
            "contentType": "application/json", "encoded": False, "content": {"status": 400}},
            matchingRules={"body": {"$": {"combine": "AND", "matchers": [{"match": "type"}]}}}),
    ])
    code, out = await verify(stack, str(pact), "--json", str(tmp_path / "r.json"), "--junit", str(tmp_path / "r.xml"))
    assert code == 1, out
    assert "0 of 3 interaction(s) verified" in out, out
    words = "never payout.returned"
    assert out.count("refused: 400: providerStates: 'a payout' (scenario failed_account_closed") == 3, out
    assert words in out and "success_then_returned" in out  # what to use instead
    results = json.loads((tmp_path / "r.json").read_text())[0]
    assert results["counts"]["refused"] == 3
    assert all(i["outcome"] == "refused" and words in i["words"][0] for i in results["interactions"])
    junit = (tmp_path / "r.xml").read_text()
    assert 'failures="3"' in junit and junit.count(words) >= 3


async def test_a_refused_state_fails_with_its_words(stack, tmp_path):
    pact = hand_pact(tmp_path, "state", [{
        "type": "Synchronous/HTTP", "description": "a failed payout",
        "providerStates": [{"name": "a payout", "params": {"scenario": "success", "status": "failed"}}],
        "request": {"method": "GET", "path": "/api/v1/payouts/po_1"}, "response": {"status": 200}}])
    code, out = await verify(stack, str(pact), "--json", str(tmp_path / "r.json"), "--junit", str(tmp_path / "r.xml"))
    words = "params.status: scenario success never shows 'failed'"
    assert code == 1 and f"refused: 400: 'a payout': {words}" in out and "Known states" in out, out
    assert words in json.loads((tmp_path / "r.json").read_text())[0]["interactions"][0]["words"][0]
    assert words in (tmp_path / "r.xml").read_text()


async def test_a_refused_admin_key_and_an_empty_pact_exit_2(stack, tmp_path, pact_file):
    code, out = await run(sys.executable, "-m", "sandbox.cli", "pact", "verify", "--url", stack.base_url,
                          "--admin-key", "sk_admin_not_the_key_at_all", str(pact_file))
    assert code == 2 and "refused the admin key (401" in out and "FAILED" not in out, out
    empty = hand_pact(tmp_path, "empty", [])
    code, out = await verify(stack, str(empty))
    assert code == 2 and "a pact with no interactions" in out, out
    # The verifier's results name an interaction by its description: one with none, or an
    # empty one, could not be told apart from another, so the file is refused in words.
    for bad in ({}, {"description": ""}, {"description": 7}):
        second = {k: v for k, v in {**APPROVE, **bad}.items() if bad or k != "description"}
        nameless = hand_pact(tmp_path, "nameless", [APPROVE, second])
        code, out = await verify(stack, str(nameless))
        assert code == 2 and "interaction 1 has no description" in out and "FAILED" not in out, out


APPROVE = {
    "type": "Synchronous/HTTP", "description": "an approval", "providerStates": [{"name": "a payout in review"}],
    "request": {"method": "POST", "path": "/api/v1/admin/payouts/po_1/approve",
                "headers": {"X-API-KEY": ["sk_admin_example"], "X-Idempotency-Key": ["approve-42"],
                            "Content-Type": ["application/json"]},
                "body": {"contentType": "application/json", "encoded": False, "content": {"reason": "ok"}},
                "generators": {"path": {"type": "ProviderState",
                                        "expression": "/api/v1/admin/payouts/${payoutId}/approve"},
                               "header": {"X-API-KEY": {"type": "ProviderState", "expression": "${adminKey}"}}}},
    "response": {"status": 200, "body": {"contentType": "application/json", "encoded": False,
                                         "content": {"status": "pending"}}}}


async def test_an_approve_with_a_fixed_key_verifies_again_and_again(stack, tmp_path):
    pact = hand_pact(tmp_path, "approve", [APPROVE])
    for _ in range(2):
        code, out = await verify(stack, str(pact))
        assert code == 0 and "1 of 1 interaction(s) verified" in out, out


async def test_a_v3_message_pact_verifies_as_v4(stack, tmp_path):
    pact = hand_pact(tmp_path, "v3", [{
        "description": "a payout.failed webhook", "providerStates": [
            {"name": "a payout", "params": {"scenario": "failed_account_closed"}}],
        "contents": {"type": "payout.failed", "data": {"status": "failed", "failure_code": "account_closed"}},
        "metadata": {"contentType": "application/json"}}], version="3.0.0", key="messages")
    code, out = await verify(stack, str(pact))
    assert code == 0 and "1 of 1 interaction(s) verified" in out, out
