"""A receiver audit as JUnit XML, which CI systems show as test results: one
`<testsuite>` per audit, one `<testcase>` per case (its time the answer's latency), a
`<failure>` saying what was expected and what came, and why the case matters as the
case's output. Written with `junitparser`."""

from __future__ import annotations

import io

from junitparser import Failure, JUnitXml, TestCase, TestSuite

from sandbox.webhooks.model.schemas import AuditCase, WebhookAudit

MEDIA_TYPE = "application/xml"


def observed(case: AuditCase) -> str:
    """What the receiver did, in words: its status, or why no answer came."""
    if case.observed_status is not None:
        return f"HTTP {case.observed_status}"
    return case.transport_error or "no answer"


def render(audit: WebhookAudit) -> bytes:
    suite = TestSuite(f"webhook receiver audit {audit.endpoint_id}")
    suite.timestamp = audit.started_at
    suite.add_property("url", audit.url)
    suite.add_property("signing", audit.signing)
    suite.add_property("audit_id", audit.id)
    cases = []
    for case in audit.cases:
        test = TestCase(case.name, classname=f"webhook_audit.{audit.signing}",
                        time=(case.latency_ms or 0) / 1000)
        if not case.passed:  # before system-out: the order the JUnit schema gives
            failure = Failure(f"expected {case.expected}, got {observed(case)}", "receiver_audit")
            failure.text = f"{case.sends}: expected {case.expected}, got {observed(case)}. {case.why}"
            test.result = [failure]
        test.system_out = f"Sends {case.sends}. {case.why}"
        cases.append(test)
    suite.add_testcases(cases)
    document = JUnitXml("webhook receiver audit")
    document.add_testsuite(suite)
    document.update_statistics()
    out = io.BytesIO()
    document.write(out)
    return out.getvalue()
