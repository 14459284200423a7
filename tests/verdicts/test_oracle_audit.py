"""The receiver audit: its pass or fail and an oracle of its own agree on every generated
receiver.

What each test drives:
- `test_the_judge_agrees_with_the_oracle_on_generated_answers`: SANDBOX_ORACLE_EXAMPLES
  receivers (500 in the full suite, 60 in the fast lane), each an answer per case of the
  battery (a status from 1xx to 5xx, or none at all); the audit's judging
  (`audit_verdict.judged` per case, `audit_verdict.tally`, then `verdicts.judge.receiver_audit`) and the
  oracle (Standard Webhooks' rule per case, tests/verdicts/oracles.py) read them. No I/O.
- `test_the_api_agrees_with_the_oracle_over_http`: a few receivers (a fiftieth as many, at
  least 3; an audit takes over a second): a real local HTTP server answering a drawn status
  to each request it gets, audited by POST /sandbox/gate (its run read back from GET
  /webhook-endpoints/{id}/audits). The oracle reads
  only what the receiver got: it verifies each request itself with the `standardwebhooks`
  library and the endpoint's secret (a genuine delivery, a repeat, an unknown type or a
  rotation verifies and must be acknowledged; anything else must be refused), and says
  which cases pass from the status the receiver answered."""

from __future__ import annotations

import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from sandbox.verdicts import judge
from sandbox.webhooks.audit import audit_verdict
from sandbox.webhooks.audit.audit_cases import EVERY_CASE as CASES
from tests.verdicts import oracles

EXAMPLES = int(os.environ["SANDBOX_ORACLE_EXAMPLES"])
STATUSES = st.one_of(st.none(), st.sampled_from([100, 200, 201, 204, 299, 300, 302, 399, 400, 401, 403, 404, 409,
                                                 422, 499, 500, 502, 503]), st.integers(100, 599))
ANSWERS = st.fixed_dictionaries({name: STATUSES for name in oracles.STANDARD_WEBHOOKS})


def test_the_battery_is_the_one_the_guide_lists():
    assert {c.name: c.expected for c in CASES} == oracles.STANDARD_WEBHOOKS


@settings(max_examples=EXAMPLES, deadline=None)
@given(answers=ANSWERS)
def test_the_judge_agrees_with_the_oracle_on_generated_answers(answers):
    cases = [audit_verdict.judged(c, answers[c.name], None if answers[c.name] is not None else "no answer", 1)
             for c in CASES]
    passed, failed = audit_verdict.tally(cases)
    finding = judge.receiver_audit({"id": "wha_x", "url": "http://127.0.0.1/hooks", "passed": passed,
                                    "cases": msgspec.to_builtins(cases)})
    want, failing = oracles.audit(answers)
    assert {c.name for c in cases if not c.passed} == failing
    assert (passed, failed, finding.held) == (want, len(failing), want)
    assert finding.said.startswith(f"{len(CASES) - len(failing)} of {len(CASES)} cases passed")
    assert sorted(d.split(":")[0] for d in finding.details) == sorted(failing)


class Answering:
    """A receiver that answers the n-th request it gets with statuses[n % len(statuses)]
    and keeps each request (headers, body) and its answer."""

    def __init__(self) -> None:
        self.statuses: list[int] = [204]
        self.got: list[tuple[dict[str, str], bytes, int]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                status = receiver.statuses[len(receiver.got) % len(receiver.statuses)]
                receiver.got.append(({k.lower(): v for k, v in self.headers.items()}, body, status))
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def oracle_of(got: list[tuple[dict[str, str], bytes, int]], secret: str) -> list[bool]:
    """Each request's case passed: it verifies with the endpoint's secret and was
    acknowledged (2xx), or it does not and was refused (4xx)."""
    verdicts = []
    for headers, body, status in got:
        try:
            Webhook(secret).verify(body, headers)
            genuine = True
        except WebhookVerificationError:
            genuine = False
        verdicts.append(200 <= status < 300 if genuine else 400 <= status < 500)
    return verdicts


@settings(max_examples=max(3, EXAMPLES // 50), deadline=None, suppress_health_check=list(HealthCheck))
@given(statuses=st.lists(st.sampled_from([200, 204, 302, 400, 401, 404, 409, 500]), min_size=9, max_size=9))
async def test_the_api_agrees_with_the_oracle_over_http(merchant, statuses):
    receiver = Answering()
    made = await merchant.post("/webhook-endpoints", {"url": receiver.url, "signing": "hmac-sha256"})
    assert made.status_code == 201, made.text
    endpoint = made.json()
    try:
        receiver.statuses = statuses
        gate = await merchant.http.post("/sandbox/gate", json={"audit_endpoint": endpoint["id"]})
        assert gate.status_code == 200, gate.text
        said = oracle_of(receiver.got, endpoint["secret"])
        assert gate.json()["held"] is all(said)
        [audit] = (await merchant.get(f"/webhook-endpoints/{endpoint['id']}/audits")).json()["data"]
        assert [c["passed"] for c in audit["cases"]] == said  # the cases in the order they were sent
        assert audit["passed"] is all(said)
    finally:
        receiver.close()
        await merchant.delete(f"/webhook-endpoints/{endpoint['id']}")  # a merchant has at most 20
