"""`sandbox pact verify` end to end, the real Pact verifier included, against the oracle
(tests/pact/oracle.py) on generated pact files: HTTP interactions and messages that
verify, mismatch, or are refused (unknown states, a state named "" with params, an empty
status, descriptions naming 0 or 2 event types, an event never sent), pending or not, V3
files with both lists, V4 files with a type misspelt. The oracle reads the files, the
places the generator knows the sandbox refuses, and the verifier's raw results (--json's
`verifier`); the command's exit code and counts must be its.

Each example runs the command (a second or more), so this draws 8 examples
(SANDBOX_ORACLE_E2E_EXAMPLES); the judge itself is held to 500 in test_verdict_oracle.py."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.pact.oracle import expected
from tests.pact.test_verify import every_part_serves  # noqa: F401

READY = {"method": "GET", "path": "/api/v1/ready"}
CLOSED = [{"name": "a payout", "params": {"scenario": "failed_account_closed"}}]
# Interactions whose fate is known before they run: (kind, description, states, status or
# message type expected, refused by the sandbox?).
HTTP = [
    ("ready", [{"name": "a merchant"}], 200, False),
    ("ready, expected 201", [{"name": "a merchant"}], 201, False),
    ("a refund", [{"name": "a refund"}], 200, True),
    ("a state with no name", [{"name": "", "params": {"scenario": "success"}}], 200, True),
    ("an empty status", [{"name": "a payout", "params": {"status": ""}}], 200, True),
]
MESSAGES = [
    ("a payout.failed webhook", CLOSED, "payout.failed", False),
    ("a payout.failed webhook, typed wrong", CLOSED, "payout.success", False),
    ("after payout.success, a payout.returned webhook", [], "payout.returned", True),
    ("a payout webhook", [], "payout.failed", True),
    ("a payout.returned webhook", CLOSED, "payout.returned", True),
]


@st.composite
def interaction(draw, kind: str, v4: bool, n: int) -> tuple[dict, bool]:
    description, states, expect, refused = draw(st.sampled_from(HTTP if kind == "http" else MESSAGES))
    made: dict = {"description": f"{description} #{n}", "providerStates": states}
    if kind == "http":
        made |= {"request": READY, "response": {"status": expect}}
    elif v4:
        made["contents"] = {"contentType": "application/json", "encoded": False, "content": {"type": expect}}
    else:
        made |= {"contents": {"type": expect}, "metadata": {"contentType": "application/json"}}
    if v4:
        made["type"] = {"http": "Synchronous/HTTP", "message": "Asynchronous/Messages"}[kind]
        if draw(st.integers(0, 9)) == 0:
            made["type"] += "X"
        if draw(st.booleans()):
            made["pending"] = True
    return made, refused


@st.composite
def a_pact(draw) -> tuple[dict, set[int]]:
    v4 = draw(st.booleans())
    kinds = draw(st.lists(st.sampled_from(["http", "message"]), min_size=1, max_size=4))
    if not v4:
        kinds.sort(key=lambda k: k != "http")  # listed as the file holds them: interactions, then messages
    made = [draw(interaction(kind, v4, n)) for n, kind in enumerate(kinds)]
    pact: dict = {"consumer": {"name": "generated"}, "provider": {"name": "MyPay"},
                  "metadata": {"pactSpecification": {"version": "4.0" if v4 else "3.0.0"}}}
    listed = [i for i, _ in made]
    if v4:
        pact["interactions"] = listed
    else:
        http = [i for i, k in zip(listed, kinds, strict=True) if k == "http"]
        messages = [i for i, k in zip(listed, kinds, strict=True) if k == "message"]
        pact |= ({"interactions": http} if http else {}) | ({"messages": messages} if messages else {})
    return pact, {place for place, (_, refused) in enumerate(made) if refused}


# Always run, besides the drawn ones: a pending mismatch and a pending refusal, with
# --fail-pending and without (beside a V3 file with both lists).
PENDING_FAILURES = {"consumer": {"name": "pending"}, "provider": {"name": "MyPay"},
                    "metadata": {"pactSpecification": {"version": "4.0"}}, "interactions": [
                        {"type": "Synchronous/HTTP", "description": "ready, expected 201 #0", "pending": True,
                         "providerStates": HTTP[1][1], "request": READY, "response": {"status": 201}},
                        {"type": "Synchronous/HTTP", "description": "a refund #1", "pending": True,
                         "providerStates": HTTP[2][1], "request": READY, "response": {"status": 200}}]}
BOTH = {"consumer": {"name": "both"}, "provider": {"name": "MyPay"},
        "metadata": {"pactSpecification": {"version": "3.0.0"}},
        "interactions": [{"description": "ready #0", "providerStates": HTTP[0][1], "request": READY,
                          "response": {"status": 200}}],
        "messages": [{"description": "a payout.failed webhook #1", "providerStates": CLOSED,
                      "contents": {"type": "payout.failed"}, "metadata": {"contentType": "application/json"}}]}

SUMMARY = re.compile(r"(\d+) of (\d+) interaction\(s\) verified against \S+?(?::(.*))?$", re.M)


def said_counts(out: str) -> dict[str, int]:
    found = SUMMARY.search(out)
    assert found, out
    counts = {"verified": int(found[1]), "refused": 0, "failed": 0, "pending": 0}
    for number, outcome in re.findall(r"(\d+) (pending, failed|refused|failed)", found[3] or ""):
        counts[outcome.split(",")[0]] = int(number)
    return counts


async def test_the_command_agrees_with_the_oracle(stack, tmp_path):
    examples = int(os.environ.get("SANDBOX_ORACLE_E2E_EXAMPLES", "8"))

    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    @given(st.lists(a_pact(), min_size=1, max_size=2), st.booleans())
    @example([(PENDING_FAILURES, {1})], True)
    @example([(PENDING_FAILURES, {1}), (BOTH, set())], False)
    def agree(pacts: list[tuple[dict, set[int]]], fail_pending: bool) -> None:
        folder: Path = tmp_path
        paths = []
        for i, (pact, _) in enumerate(pacts):
            paths.append(folder / f"generated-{i}.json")
            paths[-1].write_text(json.dumps(pact))
        written = folder / "r.json"
        done = subprocess.run([sys.executable, "-m", "sandbox.cli", "pact", "verify", "--url", stack.base_url,
                               "--admin-key", stack.admin_key, *map(str, paths), "--json", str(written),
                               *(["--fail-pending"] if fail_pending else [])],
                              capture_output=True, text=True, timeout=120, check=False)
        out = done.stdout + done.stderr
        results = json.loads(written.read_text())
        counts, code = expected([(pact, refused, r["verifier"]) for (pact, refused), r in zip(pacts, results,
                                                                                                strict=True)],
                                fail_pending=fail_pending)
        assert done.returncode == code, out
        assert said_counts(out) == dict(counts), out
        for path in paths:
            path.unlink()

    # The command blocks; the API it calls answers in this event loop, so it runs in a thread.
    await asyncio.to_thread(agree)
