"""The judge of `sandbox pact verify` (sandbox/pact/verdict.py, and the JUnit it writes)
against the oracle (tests/pact/oracle.py) on generated pact files and the results a Pact
verifier gives for them: V3 and V4 files, HTTP interactions and messages, a V3 file with
both lists, pending flags, interaction types misspelt or missing (the verifier cannot
load the file), refused states and messages, descriptions repeated, results that match,
mismatch, fail without words, or never come. The counts and the exit code agree on every
example, and each interaction is counted once.

Examples: 500 in the full suite, 50 in the fast lane (`-m "not process"`), or
SANDBOX_ORACLE_EXAMPLES. The real verifier runs on a handful of generated files in
test_verify_oracle.py (process level)."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sandbox.pact.verdict import RunVerdict, judge
from sandbox.pact.verify import junit
from tests.pact.oracle import expected

PAYOUT_EVENT = "payout.failed"
DESCRIPTIONS = ("a new payout", "a payout.failed webhook", "after payout.success, a payout.returned webhook",
                "a payout webhook", "ready", "")
TYPES = {"http": "Synchronous/HTTP", "message": "Asynchronous/Messages"}


def examples(config) -> int:
    """How many examples a property test here draws: SANDBOX_ORACLE_EXAMPLES, else 50 in
    the fast lane (a mark expression that leaves out `process`), else 500."""
    if os.environ.get("SANDBOX_ORACLE_EXAMPLES"):
        return int(os.environ["SANDBOX_ORACLE_EXAMPLES"])
    return 50 if "not process" in (config.option.markexpr or "") else 500


@st.composite
def an_interaction(draw, v4: bool, kind: str | None = None) -> dict:
    kind = kind or draw(st.sampled_from(["http", "message"]))
    made: dict = {"description": draw(st.sampled_from(DESCRIPTIONS))}
    if v4:
        typed = draw(st.sampled_from(["right", "right", "right", "right", "misspelt", "missing"]))
        if typed == "right":
            made["type"] = TYPES[kind]
        elif typed == "misspelt":
            made["type"] = TYPES[kind] + "X"
    pending = draw(st.sampled_from([None, None, True, False, "true"]))
    if pending is not None:
        made["pending"] = pending
    state = draw(st.sampled_from([None, "a merchant", "a refund", ""]))
    if state is not None:
        made["providerStates"] = [{"name": state, "params": draw(st.sampled_from([{}, {"status": ""}]))}]
    if kind == "http":
        made |= {"request": {"method": "GET", "path": "/api/v1/ready"}, "response": {"status": 200}}
    else:
        made["contents"] = {"type": PAYOUT_EVENT}
    return made


@st.composite
def a_pact(draw) -> dict:
    v4 = draw(st.booleans())
    pact: dict = {"consumer": {"name": "c"}, "provider": {"name": "MyPay"},
                  "metadata": {"pactSpecification": {"version": "4.0" if v4 else "3.0.0"}}}
    if v4:
        pact["interactions"] = draw(st.lists(an_interaction(True), min_size=1, max_size=6))
    else:
        http = draw(st.lists(an_interaction(False, "http"), max_size=4))
        messages = draw(st.lists(an_interaction(False, "message"), max_size=4))
        if http or not messages:
            pact["interactions"] = http
        if messages:
            pact["messages"] = messages
        if not http and not messages:
            pact["interactions"] = [draw(an_interaction(False))]
    return pact


def _named(description: str) -> str:
    return f"Verifying a pact between c and MyPay - {description}"


@st.composite
def a_verification(draw, pact: dict) -> tuple[set[int], dict]:
    """What the sandbox refuses of the file (by place) and what a verifier answers for it,
    as pact_ffi does: no load for a V4 file with a bad type (or, drawn, the bad interaction
    left out), only `messages` of a V3 file with both, else a result per interaction."""
    entries = [*pact.get("interactions", []), *pact.get("messages", [])]
    refused = {place for place in range(len(entries)) if draw(st.integers(0, 3)) == 0}
    results: dict = {"errors": [], "pendingErrors": [], "interactionResults": [], "output": [], "result": True}
    v4 = pact["metadata"]["pactSpecification"]["version"].startswith("4")
    if v4 and any(e.get("type") not in TYPES.values() for e in entries) and draw(st.integers(0, 4)):
        results["errors"] = [{"interaction": "Failed to load pact", "mismatch": {
            "type": "error", "message": "Failed to load pact 'x.json' - Interaction 0 has no type attribute"}}]
        results["result"] = False
        return refused, results
    run = entries
    if not v4 and pact.get("interactions") and pact.get("messages"):
        run = pact["messages"]
    for place, entry in enumerate(entries):
        if entry not in run or (v4 and entry.get("type") not in TYPES.values()):
            continue
        if draw(st.integers(0, 9)) == 0:
            continue  # the verifier gives no result for it
        pending = v4 and entry.get("pending") is True  # a V3 pact has no pending
        if draw(st.integers(0, 19)) == 0:
            pending = not pending  # a verifier told otherwise (a broker's pending pact, say)
        how = draw(st.sampled_from(["OK", "mismatch", "error", "silent"])) if place not in refused \
            else draw(st.sampled_from(["error", "error", "OK"]))
        result = {"description": entry["description"], "pending": pending, "result": "OK" if how == "OK" else "Error"}
        mismatch = {"mismatch": {"type": "mismatches", "mismatches": [
            {"type": "StatusMismatch", "mismatch": "expected 201 but was 200"}]},
                    "error": {"type": "error", "message": "One or more of the setup state change handlers has failed"},
                    }.get(how)
        if mismatch:
            result["mismatch"] = mismatch
            results["pendingErrors" if pending else "errors"].append(
                {"interaction": _named(entry["description"]), "mismatch": mismatch})
        results["interactionResults"].append(result)
    if draw(st.booleans()):
        results["interactionResults"].reverse()
    return refused, results


@st.composite
def a_run(draw) -> tuple[list[tuple[dict, set[int], dict | None]], bool]:
    files = []
    for pact in draw(st.lists(a_pact(), min_size=1, max_size=3)):
        refused, results = draw(a_verification(pact))
        files.append((pact, refused, results))
    return files, draw(st.booleans())


def test_the_verdict_agrees_with_the_oracle(request):
    @settings(max_examples=examples(request.config), deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(a_run())
    def agree(run) -> None:
        files, fail_pending = run
        verdict = RunVerdict([judge(f"p{i}.json", pact, {p: ["400: no"] for p in refused}, results)
                              for i, (pact, refused, results) in enumerate(files)], fail_pending=fail_pending)
        counts, code = expected(files, fail_pending=fail_pending)
        assert {o: verdict.count(o) for o in counts} == dict(counts)
        assert verdict.exit_code == code
        assert sum(counts.values()) == verdict.total == sum(
            len([*p.get("interactions", []), *p.get("messages", [])]) for p, _, _ in files)
        assert verdict.summary("URL")[0].startswith(f"{counts['verified']} of {verdict.total} interaction(s)")
        for judged_file in verdict.files:  # nothing is let off without its words
            assert all(j.words for j in judged_file.interactions if j.outcome != "verified")
        suites = ET.fromstring(junit(verdict))
        cases = suites.findall(".//testcase")
        unloadable = sum(1 for f in verdict.files if f.unloadable)
        assert len(cases) == verdict.total + unloadable
        assert len(suites.findall(".//error")) == unloadable
        assert len(suites.findall(".//failure")) == counts["refused"] + counts["failed"] + (
            counts["pending"] if fail_pending else 0)
        assert len(suites.findall(".//skipped")) == (0 if fail_pending else counts["pending"])
        assert all(e.get("message") not in (None, "", "{}") for e in suites.iter() if e.tag in (
            "failure", "skipped", "error"))

    agree()
