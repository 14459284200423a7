"""The safe-retries and receiver-audit verdicts' words, exactly as the gate answers them: which
writes were recovered and how, the cut after three, a payout paid twice, and a run that never
tested its retries (with what is still open and what was not judged). The oracle property
tests hold `held`; these hold the sentences. No database: the mutation lane runs them per
mutant (docs/mutation-testing.md)."""

from __future__ import annotations

from sandbox.coverage.asked import SAFE_RETRIES_MEANS
from sandbox.verdicts import judge

POST = "POST /api/v1/payouts"


def _case(n: int, verdict: str = "recovered", payout: str | None = "po_1", by: str = "same_key") -> dict:
    return {"verdict": verdict, "payout_id": payout, "request_id": f"req_{n}", "method": "POST",
            "route": "/api/v1/payouts", "recovered_by": by, "next_request_id": f"req_{n}b",
            "duplicate_payout_id": "po_2", "duplicate_write": "POST /api/v1/payout-batches"}


def _answer(cases: list[dict], open_: int = 0, not_writes: int = 0, merchant: str = "m_1") -> dict:
    return {"merchant_id": merchant,
            "faults": [{"kind": "response_lost", "open": open_, "not_writes": not_writes, "cases": cases}]}


def test_a_held_verdict_names_each_write_recovered_and_how():
    found = judge.safe_retries([_answer([_case(1), _case(2, payout=None, by="read_by_id")], not_writes=2)])
    first = (f"{POST} (request req_1, response_lost, payout po_1) retried with the same idempotency key "
             "by request req_1b")
    second = f"{POST} (request req_2, response_lost) read back by id by request req_2b"
    assert found == judge.Finding(
        "safe_retries", True,
        f"2 faulted write(s) recovered: {first}; {second}; no payout made twice. Checked: {SAFE_RETRIES_MEANS}; "
        "2 fault(s) on requests that wrote nothing (a read, a refused or replayed write) are not judged",
        [first, second])


def test_a_held_verdict_names_three_writes_and_counts_the_rest():
    found = judge.safe_retries([_answer([_case(n, by="read_by_reference") for n in range(5)])])
    named = [f"{POST} (request req_{n}, response_lost, payout po_1) read back by reference by request req_{n}b"
             for n in range(5)]
    assert found.held
    assert found.said == (f"5 faulted write(s) recovered: {'; '.join(named[:3])}; and 2 more; no payout made twice. "
                          f"Checked: {SAFE_RETRIES_MEANS}")
    assert found.details == named


def test_exactly_three_writes_are_all_named_with_nothing_more():
    found = judge.safe_retries([_answer([_case(n) for n in range(3)])])
    named = "; ".join(f"{POST} (request req_{n}, response_lost, payout po_1) retried with the same idempotency key "
                      f"by request req_{n}b" for n in range(3))
    assert found.said == f"3 faulted write(s) recovered: {named}; no payout made twice. Checked: {SAFE_RETRIES_MEANS}"


def test_a_payout_paid_twice_falls_short_whatever_was_recovered():
    found = judge.safe_retries([_answer([_case(1), _case(3, verdict="duplicated")], merchant="m_7")])
    assert found == judge.Finding("safe_retries", False, "a client paid twice after a fault (1 time(s))", [
        "merchant m_7: payout po_1 was paid again as po_2 (fault response_lost on request req_3, "
        f"{POST}: the same account and amount after it, paid by request req_3b, POST /api/v1/payout-batches; retry "
        "with the same idempotency key, or reinitiate that payout, instead)"])


def test_nothing_recovered_is_never_tested_and_says_what_is_open_and_not_judged():
    advice = ['make one with a fault rule, e.g. POST /api/v1/sandbox/faults {"fault": "response_lost", '
              '"path": "/payouts", "method": "POST"}, then retry that payout with the same idempotency key']
    found = judge.safe_retries([_answer([_case(1, verdict="open")], open_=1, not_writes=1),
                                _answer([], open_=2, merchant="m_2")])
    assert found == judge.Finding(
        "safe_retries", False,
        "never tested: no faulted write was recovered (3 faulted write(s) not yet retried or read back); 1 fault(s) "
        "on requests that wrote nothing (a read, a refused or replayed write) are not judged", advice)
    bare = judge.safe_retries([_answer([])])
    assert bare == judge.Finding("safe_retries", False, "never tested: no faulted write was recovered", advice)


def test_the_audit_verdict_counts_the_cases_and_says_each_failure():
    audit = {"id": "wha_1", "url": "https://r/x", "passed": False, "cases": [
        {"name": "valid_event", "passed": True, "sends": "a valid event", "expected": "2xx",
         "observed_status": 200, "transport_error": None, "why": "w1"},
        {"name": "tampered_body", "passed": False, "sends": "a tampered body", "expected": "4xx",
         "observed_status": 200, "transport_error": None, "why": "w2"},
        {"name": "unsigned", "passed": False, "sends": "no signature", "expected": "4xx",
         "observed_status": None, "transport_error": "timed out", "why": "w3"},
        {"name": "stale", "passed": False, "sends": "old", "expected": "4xx",
         "observed_status": None, "transport_error": None, "why": "w4"}]}
    assert judge.receiver_audit(audit) == judge.Finding(
        "receiver_audit", False, "1 of 4 cases passed at https://r/x (audit wha_1)",
        ["tampered_body: sent a tampered body; expected 4xx, got HTTP 200. w2",
         "unsigned: sent no signature; expected 4xx, got timed out. w3",
         "stale: sent old; expected 4xx, got no answer. w4"])
    assert judge.receiver_audit({**audit, "passed": True}).held


def _coverage(reached: list[str], paths: dict[str, int], scenarios: list[dict] | None = None) -> dict:
    return {"merchant_id": "m_1", "scenarios_reached": reached, "scenarios": scenarios or [],
            "operator_paths": [{"name": n, "count": c} for n, c in paths.items()]}


def test_the_names_asked_for_are_split_at_commas_only():
    assert judge.required_names(" paid , held,,  ", ["x"]) == ["paid", "held"]
    assert judge.required_names("paid held", ["x"]) == ["paid held"]
    assert judge.required_names(" all ", ["a", "b"]) == ["a", "b"]


def test_a_name_the_sandbox_does_not_know_is_refused_in_words():
    own = {"name": "mine", "payouts": 0, "stopped_at": [], "simulated_to": []}
    found = judge.coverage("paid,nope,release,mine, bogus", ["paid", "held"], [_coverage([], {}, [own])])
    assert found == judge.Finding(
        "coverage", False,
        "asked for what the sandbox does not know: nope, bogus (scenarios: paid, held, mine; operator paths: "
        "simulate, reinitiate, cancel, approve, reject, release)",
        missing=["nope (not a scenario or operator path)", "bogus (not a scenario or operator path)"])


def test_what_fell_short_is_named_with_why():
    held = {"name": "held", "payouts": 0, "stopped_at": [], "simulated_to": []}
    found = judge.coverage("paid,held,release,cancel", ["paid", "held"],
                           [_coverage(["paid"], {"release": 0, "cancel": 1}, [held])])
    assert found == judge.Finding(
        "coverage", False, "2 of 4 asked for fell short: held (never started), release (never taken)",
        missing=["held", "release"])


def test_all_reached_holds_and_lists_them():
    found = judge.coverage("paid, reject", ["paid"], [_coverage(["paid"], {"reject": 2}),
                                                      _coverage([], {"reject": 0})])
    assert found == judge.Finding("coverage", True, "exercised all 2 asked for: paid, reject")


def test_a_payout_paid_twice_by_no_logged_request_is_said_so():
    case = {**_case(4, verdict="duplicated"), "next_request_id": None,
            "duplicate_write": "made by no request of the log (the dashboard)"}
    found = judge.safe_retries([_answer([case], merchant="m_8")])
    assert found.details == [
        "merchant m_8: payout po_1 was paid again as po_2 (fault response_lost on request req_4, "
        f"{POST}: the same account and amount after it, made by no request of the log (the dashboard); retry with "
        "the same idempotency key, or reinitiate that payout, instead)"]
