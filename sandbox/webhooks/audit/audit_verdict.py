"""The receiver audit's judging, apart from sending and storing: whether a case's answer is
the one a Standard Webhooks receiver gives, and whether the audit as a whole passed. Pure
functions, so the judge's mutation lane (docs/mutation-testing.md) mutates them."""

from __future__ import annotations

from sandbox.webhooks.audit.audit_cases import OK, Case
from sandbox.webhooks.model.schemas import AuditCase


def passed(expected: str, status_code: int | None) -> bool:
    """2xx where the case expects acceptance, 4xx where it expects a refusal; no answer
    (a transport error, a timeout, a case not sent) never passes."""
    if status_code is None:
        return False
    return 200 <= status_code < 300 if expected == OK else 400 <= status_code < 500


def judged(case: Case, status_code: int | None, error: str | None, latency_ms: int | None) -> AuditCase:
    """A case's verdict from the receiver's answer."""
    return AuditCase(name=case.name, sends=case.sends, expected=case.expected, observed_status=status_code,  # type: ignore[arg-type]
                     transport_error=error, latency_ms=latency_ms, passed=passed(case.expected, status_code),
                     why=case.why)


def tally(cases: list[AuditCase]) -> tuple[bool, int]:
    """Whether the audit passed (every case did, and there were cases), and how many failed."""
    failed = sum(not c.passed for c in cases)
    return bool(cases) and failed == 0, failed
