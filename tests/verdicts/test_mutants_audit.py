"""The receiver audit's judging, case by case and as a whole (`audit_verdict`): each case's
record carries what was sent, expected and observed, as the API and the JUnit show it, and
the audit passes only with cases and none failed. The oracle property test holds which cases
pass; these hold the rest of the record. No I/O: the mutation lane runs them per mutant
(docs/mutation-testing.md)."""

from __future__ import annotations

from sandbox.webhooks.audit import audit_verdict
from sandbox.webhooks.audit.audit_cases import CASES, OK, REFUSED

GENUINE = next(c for c in CASES if c.expected == OK)
TAMPERED = next(c for c in CASES if c.expected == REFUSED)


def test_a_case_record_says_what_was_sent_expected_and_observed():
    answered = audit_verdict.judged(TAMPERED, 401, None, 12)
    assert (answered.name, answered.sends, answered.expected, answered.why) == \
        (TAMPERED.name, TAMPERED.sends, REFUSED, TAMPERED.why)
    assert (answered.observed_status, answered.transport_error, answered.latency_ms, answered.passed) == \
        (401, None, 12, True)
    silent = audit_verdict.judged(GENUINE, None, "no answer within 5 s", 5000)
    assert (silent.observed_status, silent.transport_error, silent.latency_ms, silent.passed) == \
        (None, "no answer within 5 s", 5000, False)


def test_the_audit_passes_only_with_cases_and_none_failed():
    good, bad = audit_verdict.judged(GENUINE, 204, None, 1), audit_verdict.judged(GENUINE, 500, None, 1)
    assert audit_verdict.tally([]) == (False, 0)  # an audit that sent nothing proves nothing
    assert audit_verdict.tally([good, good]) == (True, 0)
    assert audit_verdict.tally([good, bad]) == (False, 1)
    assert audit_verdict.tally([bad, bad]) == (False, 2)


def test_the_status_classes_edge_to_edge():
    """2xx is 200 to 299 and 4xx 400 to 499, both ends in: the oracle's draws reach the
    edges only by chance, with twenty cases to spread them over."""
    assert [audit_verdict.passed(OK, s) for s in (199, 200, 201, 298, 299, 300)] == [
        False, True, True, True, True, False]
    assert [audit_verdict.passed(REFUSED, s) for s in (399, 400, 401, 498, 499, 500)] == [
        False, True, True, True, True, False]
    assert audit_verdict.passed(OK, None) is False and audit_verdict.passed(REFUSED, None) is False
