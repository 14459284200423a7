"""Every input a verdict models has a mutation operator in its lane (issue 91: operators
chosen by hand tested what was imagined; no pact operator touched the metadata, the
request, `pending` or a matcher but `type` and equality; no receiver operator a rotation;
no history a route but POST /payouts). Derived, not listed by hand:

- pacts: every key the closed-world schemas model (sandbox/pact/shapes.py), against the
  keys the lane's mutants of every source really change (`pacts.touched`);
- histories: every route the app declares can pay (sandbox/idempotency/paying.py), against
  the routes the history lane's lost answers strike;
- receivers: every signing key state of a rotation the audit models, against the states
  the receiver lane audits in.

No sandbox needed: it reads the mutants, not their verdicts (the lanes judge those)."""

from __future__ import annotations

import json

import pytest

from sandbox.api.app import create_app
from sandbox.idempotency import paying
from tests.input_mutants import pacts
from tests.input_mutants.pact_sources import HAND as HAND_SOURCES
from tests.input_mutants.pact_sources import NODE_PACT, guide_pacts
from tests.input_mutants.receivers import ROTATION, rotation_mutants, scheme
from tests.input_mutants.test_history_mutants import PAYING_HISTORIES, STRUCK


def test_every_key_a_pact_schema_models_has_an_operator():
    from tests.container.test_image import HAND_PACT

    sources = {"pact-node example": json.loads(NODE_PACT.read_text()), **guide_pacts(), "image test": HAND_PACT,
               **HAND_SOURCES}  # the pact-python example's is recorded by the lane: the node one has its shapes
    covered: set[str] = set()
    for pact in sources.values():
        for _, _, mutant in pacts.mutants(pact):
            covered |= pacts.touched(pact, mutant)
    assert sorted(pacts.modelled_keys() - covered) == [], "modelled keys no pact operator changes"


def test_every_route_that_can_pay_has_a_history_with_a_lost_answer_on_it():
    paying_routes = {route for route in paying.of_app(create_app()) if route[1].startswith("/api/")}
    struck = {STRUCK[history] for history in PAYING_HISTORIES} | {("POST", "/api/v1/payouts")}
    admin_only = {("POST", "/api/v1/sandbox/pact/states"), ("POST", "/api/v1/sandbox/pact/messages")}
    assert sorted(paying_routes - struck - admin_only) == [], "paying routes no history strikes"


@pytest.mark.parametrize("signing", ["hmac-sha256"])
def test_every_signing_key_state_has_receivers_audited_in_it(signing):
    from sandbox.webhooks.model import signatures

    keys = [signatures.generate(signatures.HMAC).signing_key for _ in range(2)]
    states = rotation_mutants(scheme(signing, keys[0]), scheme(signing, keys[1]))
    assert set(states) == set(ROTATION) == {"current", "grace", "retired"}
    assert all(states[state] for state in ROTATION)
