# ruff: noqa: E501  (the expected output is kept as it is printed, a line of it to a line here)
"""What the gate and the receiver audit print and write as JUnit, byte for byte: the words a
CI log shows and the XML a CI's test-results view reads. Exact, so that any change to what a
verdict says (a label, a count, an escape, a failure's place in the XML) fails here, in a
test that needs no database (the mutation lane runs these per mutant: docs/mutation-testing.md)."""

from __future__ import annotations

from sandbox.verdicts import report
from sandbox.verdicts.schemas import GateMerchant, GateRequirement, GateTogether, GateVerdict
from sandbox.webhooks.audit import audit_junit
from sandbox.webhooks.model.schemas import AuditCase, WebhookAudit

HELD = GateRequirement("safe_retries", True, "1 fault(s) after commit recovered", ["POST /api/v1/payouts: recovered"])
# A reason with a terminal escape and details with what XML cannot carry: both shown escaped.
SHORT = GateRequirement("coverage", False, "2 of 3 scenario(s) not reached: \x1b[31m",
                        ["paid_instant: never started", "bad\ud800"])
APART = GateVerdict(held=False, merchants=[GateMerchant("m_1", True, [HELD]), GateMerchant("m_2", False, [HELD, SHORT])])
TOGETHER = GateVerdict(held=True, merchants=[], together=GateTogether(["m_1", "m_2"], True, [HELD]))

AUDIT = WebhookAudit(
    "wha_1", "webhook_audit", "we_1", "https://r/x", "hmac-sha256", False, 4, 3, 5.0,
    "2026-11-28T00:00:00.000Z", "2026-11-28T00:00:01.000Z", 1000,
    [AuditCase("valid_event", "a valid event", "2xx", 200, None, 12, True, "because"),
     AuditCase("tampered_body", "a tampered body", "4xx", None, "timed out", 5000, False, "why2"),
     AuditCase("unsigned", "no signature", "4xx", None, None, None, False, "why3"),
     AuditCase("stale", "old", "4xx", 500, None, 3, False, "why4")])


GATE_WORDS = 'merchant m_1\n  held  safe retries: 1 fault(s) after commit recovered\nmerchant m_2\n  held  safe retries: 1 fault(s) after commit recovered\n  FELL SHORT  coverage: 2 of 3 scenario(s) not reached: \\x1b[31m\n      paid_instant: never started\n      bad\\ud800\ngate FELL SHORT: 1 of 2 merchant(s) fell short of a requirement at http://x\\n\n'

GATE_JUNIT = "".join(
        '<?xml version=\'1.0\' encoding=\'utf-8\'?>\n<testsuites name="sandbox gate" tests="3" failures="1" errors="0" skipped="0" time="0.0">'
        '<testsuite name="sandbox gate m_1" tests="1" errors="0" failures="0" skipped="0" time="0.0">'
        '<properties>'
        '<property name="merchant_id" value="m_1" />'
        '</properties>'
        '<testcase name="safe_retries" classname="sandbox_gate.m_1" time="0.0">'
        '<system-out>1 fault(s) after commit recovered\nPOST /api/v1/payouts: recovered</system-out>'
        '</testcase>'
        '</testsuite>'
        '<testsuite name="sandbox gate m_2" tests="2" errors="0" failures="1" skipped="0" time="0.0">'
        '<properties>'
        '<property name="merchant_id" value="m_2" />'
        '</properties>'
        '<testcase name="safe_retries" classname="sandbox_gate.m_2" time="0.0">'
        '<system-out>1 fault(s) after commit recovered\nPOST /api/v1/payouts: recovered</system-out>'
        '</testcase>'
        '<testcase name="coverage" classname="sandbox_gate.m_2" time="0.0">'
        '<failure message="coverage: 2 of 3 scenario(s) not reached: \\x1b[31m" type="sandbox_gate">2 of 3 scenario(s) not reached: \\x1b[31m\npaid_instant: never started\nbad\\ud800</failure>'
        '<system-out>2 of 3 scenario(s) not reached: \\x1b[31m\npaid_instant: never started\nbad\\ud800</system-out>'
        '</testcase>'
        '</testsuite>'
        '</testsuites>'
    )

TOGETHER_WORDS = 'merchant together (m_1, m_2)\n  held  safe retries: 1 fault(s) after commit recovered\ngate held: every requirement held for 1 merchant(s) at http://x\n'

TOGETHER_JUNIT = "".join(
        '<?xml version=\'1.0\' encoding=\'utf-8\'?>\n<testsuites name="sandbox gate" tests="1" failures="0" errors="0" skipped="0" time="0.0">'
        '<testsuite name="sandbox gate together (m_1, m_2)" tests="1" errors="0" failures="0" skipped="0" time="0.0">'
        '<properties>'
        '<property name="merchant_id" value="together (m_1, m_2)" />'
        '</properties>'
        '<testcase name="safe_retries" classname="sandbox_gate.together (m_1, m_2)" time="0.0">'
        '<system-out>1 fault(s) after commit recovered\nPOST /api/v1/payouts: recovered</system-out>'
        '</testcase>'
        '</testsuite>'
        '</testsuites>'
    )

AUDIT_JUNIT = "".join(
        '<?xml version=\'1.0\' encoding=\'utf-8\'?>\n<testsuites name="webhook receiver audit" tests="4" failures="3" errors="0" skipped="0" time="5.015">'
        '<testsuite name="webhook receiver audit we_1" timestamp="2026-11-28T00:00:00.000Z" tests="4" errors="0" failures="3" skipped="0" time="5.015">'
        '<properties>'
        '<property name="url" value="https://r/x" />'
        '<property name="signing" value="hmac-sha256" />'
        '<property name="audit_id" value="wha_1" />'
        '</properties>'
        '<testcase name="valid_event" classname="webhook_audit.hmac-sha256" time="0.012">'
        '<system-out>Sends a valid event. because</system-out>'
        '</testcase>'
        '<testcase name="tampered_body" classname="webhook_audit.hmac-sha256" time="5.0">'
        '<failure message="expected 4xx, got timed out" type="receiver_audit">a tampered body: expected 4xx, got timed out. why2</failure>'
        '<system-out>Sends a tampered body. why2</system-out>'
        '</testcase>'
        '<testcase name="unsigned" classname="webhook_audit.hmac-sha256" time="0.0">'
        '<failure message="expected 4xx, got no answer" type="receiver_audit">no signature: expected 4xx, got no answer. why3</failure>'
        '<system-out>Sends no signature. why3</system-out>'
        '</testcase>'
        '<testcase name="stale" classname="webhook_audit.hmac-sha256" time="0.003">'
        '<failure message="expected 4xx, got HTTP 500" type="receiver_audit">old: expected 4xx, got HTTP 500. why4</failure>'
        '<system-out>Sends old. why4</system-out>'
        '</testcase>'
        '</testsuite>'
        '</testsuites>'
    )


def test_the_gate_words_for_merchants_judged_apart():
    assert report.words(APART, "http://x\n") == GATE_WORDS


def test_the_gate_junit_for_merchants_judged_apart():
    assert report.junit(APART).decode() == GATE_JUNIT


def test_the_gate_words_for_merchants_judged_together():
    assert report.words(TOGETHER, "http://x") == TOGETHER_WORDS


def test_the_gate_junit_for_merchants_judged_together():
    assert report.junit(TOGETHER).decode() == TOGETHER_JUNIT


def test_the_audit_junit_says_each_failed_case_and_why():
    assert audit_junit.render(AUDIT).decode() == AUDIT_JUNIT


COULD_NOT_JUDGE = "require_duplicates: not a requirement or field the gate models"
COULD_NOT_JUDGE_JUNIT = (
    "<?xml version='1.0' encoding='utf-8'?>\n"
    '<testsuites name="sandbox gate" tests="1" failures="0" errors="1" skipped="0" time="0.0">'
    '<testsuite name="sandbox gate" tests="1" errors="1" failures="0" skipped="0" time="0.0">'
    '<testcase name="gate" classname="sandbox_gate" time="0.0">'
    f'<error message="{COULD_NOT_JUDGE}" type="sandbox_gate.could_not_judge">{COULD_NOT_JUDGE}</error>'
    "</testcase></testsuite></testsuites>"
)


def test_the_gate_junit_when_it_could_not_judge_is_one_error_never_a_failure():
    assert report.junit_error(COULD_NOT_JUDGE).decode() == COULD_NOT_JUDGE_JUNIT
