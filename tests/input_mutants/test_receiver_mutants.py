"""The receiver-mutant lane (.ci/receiver-mutants, docs/mutation-testing.md): for an HMAC
endpoint and for an Ed25519 one, every faulty receiver made from that scheme's reference by
tests/input_mutants/receivers.py is audited for real
(POST /webhook-endpoints/{id}/audit, a local HTTP server answering); the audit must fail
each one a forged or replayed webhook tells from the reference (at least 99 % of them),
and pass the reference and each mutant listed as equivalent, as it passes the reference.
Then the endpoint is rotated: audited in its grace period and after it, with receivers
holding the new key, the old one, or both (`rotation_mutants`)."""

from __future__ import annotations

import os

import pytest

from sandbox import db
from tests.input_mutants.receivers import Mutant, Scheme, mutants, rotation_mutants, scheme
from tests.input_mutants.report import GOAL, report
from tests.webhooks.audit_helpers import audit, failed, register
from tests.webhooks.audit_receivers import ACCEPTED, REFUSED
from tests.webhooks.receiver import Receiver

pytestmark = pytest.mark.skipif(not os.environ.get("SANDBOX_INPUT_MUTANTS"),
                                reason="an input-mutant lane: .ci/receiver-mutants runs it")


def responder(mutant: Mutant | None, endpoint: Scheme):
    verified = endpoint.reference
    count = [0]

    def answer(got):
        count[0] += 1
        accepts = verified(got) if mutant is None else mutant.accepts(verified, got, count[0])
        return ACCEPTED if accepts else REFUSED
    return answer


@pytest.mark.parametrize("signing", ["hmac-sha256", "ed25519"])
async def test_the_audit_fails_every_receiver_mutant_it_can_tell(merchant, signing):
    receiver = await Receiver().start()
    try:
        endpoint = await register(merchant, receiver, signing)
        key = endpoint["secret"] if signing == "hmac-sha256" else endpoint["public_key"]
        reference = scheme(signing, key)
        receiver.responder = responder(None, reference)
        first = await audit(merchant, endpoint)
        assert failed(first) == set(), "the reference must pass"
        cases = [(c["name"], c["expected"]) for c in first["cases"]]
        killed, survived, equivalent, words, wrong_equivalents = [], [], {}, {}, []

        async def judge(mutant: Mutant, named: str) -> None:
            receiver.responder = responder(mutant, reference)
            result = await audit(merchant, endpoint)
            if mutant.equivalent is not None:
                equivalent[named] = mutant.equivalent
                if not result["passed"]:  # told apart after all: the reason given is wrong
                    wrong_equivalents.append(f"{named} (failed {sorted(failed(result))})")
            elif result["passed"]:
                survived.append(named)
                words[named] = f"operator {mutant.operator}: passed every case"
            else:
                killed.append(named)

        for mutant in mutants(reference, key, cases):
            await judge(mutant, mutant.name)
        # Rotated: the old key signs too for an hour, then is retired.
        r = await merchant.post(f"/webhook-endpoints/{endpoint['id']}/rotate-secret", {"grace_period_seconds": 3600})
        assert r.status_code == 200, r.text
        new = scheme(signing, r.json()["secret"] if signing == "hmac-sha256" else r.json()["public_key"])
        by_state = rotation_mutants(new, reference)
        for state in ("current", "grace", "retired"):
            if state == "retired":
                await db.execute("UPDATE webhook_endpoint SET previous_key_expires_at = now() - interval '1 second'"
                                 " WHERE id = $1", endpoint["id"])
            for mutant in by_state[state]:
                await judge(mutant, f"{mutant.name} ({state} key)")
    finally:
        await receiver.stop()
    rate = report(f"receiver mutants ({signing})", killed, survived, equivalent, words)
    assert not wrong_equivalents, f"listed as equivalent, yet the audit failed them: {wrong_equivalents}"
    assert rate >= GOAL, survived
