"""The receiver audit for people and test suites: its answer as a table (`sandbox
audit-webhooks`, the pytest plugin's failure message)."""

from __future__ import annotations

import sys
from pathlib import Path

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


# `sandbox audit-webhooks`' exit statuses. A CI step branches on them, so "the receiver
# failed" is never said of a sandbox that could not be reached or refused the request.
PASSED, CASE_FAILED, NOT_RUN = 0, 1, 2


def run_cli(url: str, key: str, endpoint: str, junit_path: str | None) -> int:
    """Audit `endpoint` and print the scorecard: PASSED when every case passed,
    CASE_FAILED when one failed, NOT_RUN (one line on stderr) when the audit could not
    run: the sandbox unreachable, the key or the endpoint refused, the JUnit file
    unwritable."""
    import httpx

    from sandbox.client.blocking import Refused, api_client, expect

    def not_run(why: str) -> int:
        print(f"sandbox: {why}", file=sys.stderr, flush=True)
        return NOT_RUN

    try:
        with api_client(url, key) as client:
            # Longer than the audit's own bound (about 30 s against a receiver that hangs).
            audit = expect(client.post(f"/webhook-endpoints/{endpoint}/audit", timeout=90), 200)
            junit = _content(client.get(f"/webhook-endpoints/{endpoint}/audits/{audit['id']}",
                                        params={"format": "junit"})) if junit_path else None
    except Refused as exc:
        return not_run(str(exc))
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        return not_run(f"cannot reach {url}: {exc}")
    sys.stdout.write(render(audit))
    if junit_path is not None and junit is not None:
        try:
            Path(junit_path).write_bytes(junit)
        except OSError as exc:
            return not_run(f"cannot write {junit_path}: {exc.strerror}")
        print(f"JUnit XML written to {junit_path}", flush=True)
    return PASSED if audit["passed"] else CASE_FAILED


def _content(response) -> bytes:
    """The body of a 200 answer, `Refused` for any other."""
    from sandbox.client.blocking import Refused

    if response.status_code != 200:
        raise Refused(response, 200)
    return response.content
