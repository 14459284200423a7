"""The Pact-mutant lane (.ci/pact-mutants, docs/mutation-testing.md): every pact of the suite
that verifies (the pact-python example's consumer pact, as its tests record it, and the
hand-written ones of the guide and the tests), each interaction alone, must verify; each
mutant tests/input_mutants/pacts.py derives from it must not: `sandbox pact verify` ends
it exit 1 or 2 and its interaction never `verified`. At least 99 % of the non-equivalent
ones; the equivalents, each with why, must still verify (a reason that stops being true
fails the lane too)."""

from __future__ import annotations

import json
import os
import sys

import pytest

from tests.input_mutants import pacts
from tests.input_mutants.report import GOAL, report
from tests.pact.test_verify import every_part_serves, example_pact, run  # noqa: F401

pytestmark = pytest.mark.skipif(not os.environ.get("SANDBOX_INPUT_MUTANTS"),
                                reason="an input-mutant lane: .ci/pact-mutants runs it")

READY = {"method": "GET", "path": "/api/v1/ready"}
CLOSED = [{"name": "a payout", "params": {"scenario": "failed_account_closed"}}]


def meta(version: str) -> dict:
    return {"consumer": {"name": "mutants"}, "provider": {"name": "MyPay"},
            "metadata": {"pactSpecification": {"version": version}}}


HAND = {
    "v2-ready": {**meta("2.0.0"), "interactions": [
        {"description": "the sandbox is ready", "providerState": "a merchant", "request": READY,
         "response": {"status": 200, "body": {"status": "ok", "api": "ok"}}}]},
    "v3-ready-and-webhook": {**meta("3.0.0"), "messages": [
        {"description": "a payout.failed webhook", "providerStates": CLOSED,
         "contents": {"type": "payout.failed", "data": {"failure_code": "account_closed"}},
         "metadata": {"contentType": "application/json"}}]},
    "v3-http": {**meta("3.0.0"), "interactions": [
        {"description": "the sandbox is ready", "providerStates": [{"name": "a merchant"}], "request": READY,
         "response": {"status": 200, "body": {"status": "ok", "api": "ok"}}}]},
}

# Mutants the sandbox satisfies, by (interaction, operator): a pact that still holds is no
# defect of the verdict's.
EQUIVALENT = {
    ("a new payout", "states swapped"): "'a payout' injects a merchant's apiKey as 'a merchant' does, and that "
                                        "merchant makes a new payout just the same: the pact still holds",
    ("a payout with an unknown field", "states swapped"): "any merchant's key gets the same 400 for a body with "
                                                          "an unknown field: the pact still holds under 'a payout'",
}


async def verdicts(folder, files: list) -> list[dict]:
    code, out = await run(sys.executable, "-m", "sandbox.cli", "pact", "verify", "--url", os.environ["_URL"],
                          "--admin-key", os.environ["_ADMIN"], *map(str, files), "--json", str(folder / "r.json"))
    assert code in (0, 1, 2), out
    assert (folder / "r.json").exists(), out
    return json.loads((folder / "r.json").read_text())


def verified(written: dict) -> bool:
    return not written["notModelled"] and not written["unloadable"] and \
        written["counts"]["verified"] == len(written["interactions"])


async def test_every_pact_mutant_fails_or_is_refused(stack, example_pact, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setenv("_URL", stack.base_url)
    monkeypatch.setenv("_ADMIN", stack.admin_key)
    sources = {"pact-python example": json.loads(example_pact), **HAND}
    originals, made = [], []
    for name, pact in sources.items():
        for description, alone in pacts.alone(pact):
            originals.append((name, description, alone))
        for description, operator, mutant in pacts.mutants(pact):
            made.append((name, description, operator, mutant))
    files = []
    for n, (_, _, pact) in enumerate(originals):
        files.append(tmp_path / f"source-{n}.json")
        files[-1].write_text(pacts.dumps(pact))
    said = await verdicts(tmp_path, files)
    not_verifying = [f"{name}: {description}" for (name, description, _), w in zip(originals, said, strict=True)
                     if not verified(w)]
    assert not not_verifying, f"a source does not verify alone: {not_verifying}"
    files = []
    for n, (*_, pact) in enumerate(made):
        files.append(tmp_path / f"mutant-{n}.json")
        files[-1].write_text(pacts.dumps(pact))
    said = await verdicts(tmp_path, files)
    killed, survived, equivalent, words, wrong = [], [], {}, {}, []
    for (name, description, operator, _), written in zip(made, said, strict=True):
        label = f"{name}: {description}: {operator}"
        why = EQUIVALENT.get((description, operator))
        if why is not None:
            equivalent[label] = why
            if not verified(written):
                wrong.append(label)
        elif verified(written):
            survived.append(label)
            words[label] = "verified"
        else:
            killed.append(label)
    rate = report("pact mutants", killed, survived, equivalent, words)
    assert not wrong, f"listed as equivalent, yet it did not verify: {wrong}"
    assert rate >= GOAL, survived
