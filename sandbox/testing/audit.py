"""The receiver audit for people and test suites: its answer as a table (`sandbox
audit-webhooks`, the pytest plugin's failure message)."""

from __future__ import annotations

from sandbox.coverage.report import table
from sandbox.verdicts.judge import observed


def render(audit: dict) -> str:
    """The scorecard, then what each failed case sent and why it matters."""
    cases = audit["cases"]
    passed = sum(c["passed"] for c in cases)
    title = (f"Receiver audit {audit['id']} of {audit['url']} ({audit['signing']}): "
             f"{passed} of {len(cases)} cases passed")
    lines = table(title, ("case", "expected", "observed", "ms", "result"),
                  [(c["name"], c["expected"], observed(c), "" if c["latency_ms"] is None else c["latency_ms"],
                    "pass" if c["passed"] else "FAIL") for c in cases])
    failed = [c for c in cases if not c["passed"]]
    if failed:
        lines += ["", "Failed cases, what they sent and why it matters:"]
        lines += [f"  {c['name']}: sent {c['sends']}. {c['why']}" for c in failed]
    return "\n".join(lines).lstrip("\n") + "\n"

