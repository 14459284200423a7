"""The Pact-mutant lane's sources: every pact the suite and CI verify against the sandbox.

- the pact-python example's (examples/pact-python), recorded by its consumer tests when the
  lane runs (the `example_pact` fixture of tests/pact/test_verify.py);
- the pact-node example's (examples/pact-node), as its consumer tests record it with
  pact-js: `recorded/payout-console-node-MyPay.json`. Recording it needs `npm ci` (30 s and
  the npm registry), so the lane reads this copy, and `.ci/pact`, which records the pact
  afresh on every CI run before verifying it, fails when the copy differs from it byte for
  byte (and says how to refresh it);
- the two pacts the Pact guide writes by hand (docs/contract-tests-with-pact.md, verified by
  tests/docs), read from the guide itself;
- the pact the image test verifies inside the container (tests/container/test_image.py);
- V2, V3 HTTP and V3 message pacts written here (`HAND`).

`.ci/pact`'s `never-sent/` pact is no source: it must fail, and does, in both verifiers."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.container.test_image import HAND_PACT

REPO = Path(__file__).resolve().parents[2]
NODE_PACT = Path(__file__).parent / "recorded" / "payout-console-node-MyPay.json"
GUIDE = REPO / "docs" / "contract-tests-with-pact.md"

READY = {"method": "GET", "path": "/api/v1/ready"}
CLOSED = [{"name": "a payout", "params": {"scenario": "failed_account_closed"}}]


def meta(version: str) -> dict:
    return {"consumer": {"name": "mutants"}, "provider": {"name": "MyPay"},
            "metadata": {"pactSpecification": {"version": version}}}


HAND = {
    "v2-ready": {**meta("2.0.0"), "interactions": [
        {"description": "the sandbox is ready", "providerState": "a merchant", "request": READY,
         "response": {"status": 200, "body": {"status": "ok", "api": "ok"}}}]},
    "v3-ready-and-webhook": {**meta("3.0.0"), "messages": [
        {"description": "a payout.failed webhook", "providerStates": CLOSED,
         "contents": {"type": "payout.failed", "data": {"failure_code": "account_closed"}},
         "metadata": {"contentType": "application/json"}}]},
    # A failed payout read with a matcher of each kind the lane mutates: regex, integer, an OR.
    "v4-matchers": {**meta("4.0"), "interactions": [{
        "type": "Synchronous/HTTP", "description": "a failed payout, matched by kind",
        "providerStates": [{"name": "a payout", "params": {"scenario": "failed_account_closed", "status": "failed"}}],
        "request": {"method": "GET", "path": "/api/v1/payouts/po_123", "headers": {"X-API-KEY": ["sk_test_example"]},
                    "generators": {"header": {"X-API-KEY": {"expression": "${apiKey}", "type": "ProviderState"}},
                                   "path": {"expression": "/api/v1/payouts/${payoutId}", "type": "ProviderState"}}},
        "response": {"status": 200, "body": {"contentType": "application/json", "encoded": False, "content": {
            "id": "po_123", "status": "failed", "amount": "1500.00", "attempts": 1}},
            "matchingRules": {"body": {
                "$.id": {"combine": "AND", "matchers": [{"match": "regex", "regex": "^po_[0-9a-z]+$"}]},
                "$.amount": {"combine": "AND", "matchers": [{"match": "regex", "regex": "^[0-9]+\\.[0-9]{2}$"}]},
                "$.attempts": {"combine": "AND", "matchers": [{"match": "integer"}]},
                # The first does not match: the source verifies only when the OR is read whole.
                "$.status": {"combine": "OR", "matchers": [{"match": "regex", "regex": "^returned$"},
                                                           {"match": "regex", "regex": "^failed$"}]}}}}}]},
    "v3-http": {**meta("3.0.0"), "interactions": [
        {"description": "the sandbox is ready", "providerStates": [{"name": "a merchant"}], "request": READY,
         "response": {"status": 200, "body": {"status": "ok", "api": "ok"}}}]},
}


def guide_pacts() -> dict[str, dict]:
    """The pacts the guide writes to a file (`cat > name.json <<'EOF' … EOF`), by file name."""
    found = re.findall(r"cat > (\S+\.json) <<'EOF'\n(.*?)\nEOF\n", GUIDE.read_text(), flags=re.DOTALL)
    pacts = {f"guide {name}": json.loads(text) for name, text in found}
    assert len(pacts) >= 2, f"the Pact guide's hand-written pacts were not found in {GUIDE}"
    return pacts


def every_source(python_example: str) -> dict[str, dict]:
    return {"pact-python example": json.loads(python_example), "pact-node example": json.loads(NODE_PACT.read_text()),
            **guide_pacts(), "image test": HAND_PACT, **HAND}
