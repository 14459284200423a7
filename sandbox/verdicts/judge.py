"""The judge: pure functions from what the sandbox answered (coverage, a receiver audit)
to a `Finding` per requirement. Nothing here talks to the sandbox, so `sandbox gate` and
the pytest plugin feed it the same answers and get the same words back."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import msgspec

from sandbox.coverage import words
from sandbox.coverage.asked import EVERY_SCENARIO, OPERATOR_PATHS, SAFE_RETRIES_MEANS

# The requirements' names, as POST /sandbox/gate answers them and JUnit names its testcases
# (the words a person reads put a space for the underscore).
COVERAGE = "coverage"
SAFE_RETRIES = "safe_retries"
RECEIVER_AUDIT = "receiver_audit"


class Finding(msgspec.Struct):
    requirement: str  # coverage | safe_retries | receiver_audit
    held: bool
    said: str  # one sentence: what held, or what fell short
    details: list[str] = []  # one line each: a payout paid twice, a failed audit case, what to do
    missing: list[str] = []  # coverage: the scenarios not reached and operator paths not taken


def required_names(required: str, scenario_names: Sequence[str]) -> list[str]:
    """`all` is `scenario_names` (the caller's `paths.every_scenario()`: what `all` means is
    said once, in `paths.EVERY_SCENARIO_MEANS`); else the comma-separated names."""
    if required.strip() == EVERY_SCENARIO:
        return list(scenario_names)
    return [n.strip() for n in required.split(",") if n.strip()]


def coverage(required: str, scenario_names: Sequence[str], coverages: Iterable[dict]) -> Finding:
    """Held when the merchants' payouts, together, reached the end of every scenario named
    and took every operator path named (simulate, reinitiate, cancel, approve, reject,
    release). What fell short is said as `words` says it."""
    coverages = list(coverages)
    names = required_names(required, scenario_names)
    # The merchants' own scenarios are known too: each coverage lists its merchant's.
    # In order, built-in first: the refusal below lists them, so a misspelt own name shows the right one.
    known = list(dict.fromkeys([*scenario_names, *(s["name"] for answer in coverages for s in answer["scenarios"])]))
    unknown = [n for n in names if n not in known and n not in OPERATOR_PATHS]
    if unknown:
        return Finding(COVERAGE, False, f"asked for what the sandbox does not know: {', '.join(unknown)} "
                       f"(scenarios: {', '.join(known)}; operator paths: {', '.join(OPERATOR_PATHS)})",
                       missing=[f"{n} (not a scenario or operator path)" for n in unknown])
    # An operator path's name is judged by the paths taken alone, a scenario's by the
    # scenarios reached: a scenario named `release` (made before the names were reserved)
    # never stands for a release.
    reached: set[str] = set()
    for answer in coverages:
        reached.update(n for n in answer["scenarios_reached"] if n not in OPERATOR_PATHS)
        reached.update(p["name"] for p in answer["operator_paths"] if p["count"])
    missing = [n for n in names if n not in reached]
    if missing:
        # Which: never started, or started and stopped at a status, or an operator path never taken.
        said = ", ".join(f"{n} ({words.short_of(n, coverages)})" for n in missing)
        return Finding(COVERAGE, False, f"{len(missing)} of {len(names)} asked for fell short: {said}",
                       missing=missing)
    return Finding(COVERAGE, True, f"exercised all {len(names)} asked for: {', '.join(names)}")


NAMED_AT_MOST = 3  # the writes a held reason names; `details` lists every one
_HOW = {"same_key": "retried with the same idempotency key", "read_by_id": "read back by id",
        "read_by_reference": "read back by reference"}


def _write(fault: dict, case: dict) -> str:
    made = f", payout {case['payout_id']}" if case["payout_id"] else ""
    return f"{case['method']} {case['route']} (request {case['request_id']}, {fault['kind']}{made})"


def safe_retries(coverages: Iterable[dict]) -> Finding:
    """Held when at least one faulted write (a fault after commit took away the answer of a
    request that committed an effect) was recovered, and none was followed by a second
    payout to the same account for the same amount. A fault on a read, or on a write that
    committed nothing, is never judged: with no faulted write recovered the retries were
    never tested, and that is not a pass. The reason names the writes recovered."""
    duplicated, recovered, open_cases, not_writes = [], [], 0, 0
    for answer in coverages:
        for fault in answer["faults"]:
            open_cases += fault["open"]
            not_writes += fault["not_writes"]
            for case in fault["cases"]:
                if case["verdict"] == "duplicated":
                    duplicated.append(
                        f"merchant {answer['merchant_id']}: payout {case['payout_id']} was paid again as "
                        f"{case['duplicate_payout_id']} (fault {fault['kind']} on request {case['request_id']}, "
                        f"{case['method']} {case['route']}: the same account and amount after it, "
                        + (f"paid by request {case['next_request_id']}, " if case["next_request_id"] else "")
                        + f"{case['duplicate_write']}; retry with the same idempotency key, or reinitiate that "
                        "payout, instead)")
                elif case["verdict"] == "recovered":
                    recovered.append(f"{_write(fault, case)} {_HOW[case['recovered_by']]} by request "
                                     f"{case['next_request_id']}")
    ignored = (f"; {not_writes} fault(s) on requests that wrote nothing (a read, a refused or replayed write) are "
               "not judged") if not_writes else ""
    if duplicated:
        return Finding(SAFE_RETRIES, False, f"a client paid twice after a fault ({len(duplicated)} time(s))",
                       duplicated)
    if not recovered:
        waiting = f" ({open_cases} faulted write(s) not yet retried or read back)" if open_cases else ""
        return Finding(SAFE_RETRIES, False, "never tested: no faulted write was recovered" + waiting + ignored, [
            "make one with a fault rule, e.g. POST /api/v1/sandbox/faults "
            '{"fault": "response_lost", "path": "/payouts", "method": "POST"}, '
            "then retry that payout with the same idempotency key"])
    named = "; ".join(recovered[:NAMED_AT_MOST]) + (
        f"; and {len(recovered) - NAMED_AT_MOST} more" if len(recovered) > NAMED_AT_MOST else "")
    return Finding(SAFE_RETRIES, True, f"{len(recovered)} faulted write(s) recovered: {named}; no payout made twice. "
                   f"Checked: {SAFE_RETRIES_MEANS}{ignored}", recovered)


def receiver_audit(audit: dict) -> Finding:
    cases = audit["cases"]
    failed = [c for c in cases if not c["passed"]]
    passed = len(cases) - len(failed)
    said = f"{passed} of {len(cases)} cases passed at {audit['url']} (audit {audit['id']})"
    details = [f"{c['name']}: sent {c['sends']}; expected {c['expected']}, got "
               f"{observed(c)}. {c['why']}" for c in failed]
    return Finding(RECEIVER_AUDIT, audit["passed"], said, details)


def observed(case: dict) -> str:
    if case["observed_status"] is not None:
        return f"HTTP {case['observed_status']}"
    return case["transport_error"] or "no answer"
