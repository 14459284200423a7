"""The pytest plugin's one-call audit (`mypay_audit_receiver`), run as an integrator runs
it: small suites in a pytest subprocess (pytester) with their own webhook receivers,
against this run's sandbox (MYPAY_SANDBOX_URL). The guide's example passes as written; a
sound receiver passes; a lax one fails the test with the scorecard."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.helpers import UNUSED_PLUGINS

GUIDE = (Path(__file__).resolve().parents[2] / "docs" / "auditing-your-webhook-receiver.md").read_text()
SECTION = GUIDE[GUIDE.index("## In your test suite"):]
EXAMPLE = SECTION[SECTION.index("```python\n") + len("```python\n"):]
GUIDE_EXAMPLE = EXAMPLE[:EXAMPLE.index("```\n")]  # the section's pytest module, as written

pytest_plugins = ["pytester"]

# An integrator's receiver (http.server + standardwebhooks), sound or lax, and the one
# call that audits it. The same shape as the guide's example.
SUITE = '''
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from standardwebhooks import Webhook, WebhookVerificationError


class Receiver:
    def __init__(self, checks):
        self.checks, self.secret = checks, None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                try:
                    if receiver.checks:
                        Webhook(receiver.secret).verify(body, dict(self.headers))
                    self.send_response(204)
                except WebhookVerificationError:
                    self.send_response(400)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/webhooks"

    def use_secret(self, secret):
        self.secret = secret


@pytest.mark.parametrize("checks", [True, False], ids=["sound", "lax"])
def test_receiver(mypay_audit_receiver, checks):
    receiver = Receiver(checks)
    audit = mypay_audit_receiver(receiver.url, use_secret=receiver.use_secret)
    assert audit["passed"] and len(audit["cases"]) == 36
'''


async def test_one_call_audits_a_receiver(pytester, monkeypatch, stack):
    monkeypatch.setenv("MYPAY_SANDBOX_URL", stack.base_url)
    monkeypatch.setenv("MYPAY_ADMIN_KEY", stack.admin_key)
    pytester.makepyfile(test_receiver=SUITE, test_receiver_audit=GUIDE_EXAMPLE)
    # In a thread: the sandbox under test serves in this event loop meanwhile.
    result = await asyncio.to_thread(pytester.runpytest_subprocess, *UNUSED_PLUGINS, timeout=120)
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines([
        "*the webhook receiver failed the audit*",
        "*Receiver audit wha_* of http://127.0.0.1:*/webhooks (hmac-sha256): 6 of 36 cases passed*",
        "*tampered_body*4xx*HTTP 204*FAIL*",
        "*FAILED test_receiver.py::test_receiver[[]lax[]]*",
    ])
    result.stdout.no_fnmatch_line("*FAILED test_receiver.py::test_receiver[[]sound[]]*")
    result.stdout.no_fnmatch_line("*FAILED test_receiver_audit.py*")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
