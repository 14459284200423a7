"""The receiver-mutant lane (.ci/receiver-mutants, docs/mutation-testing.md): for an HMAC
endpoint and for an Ed25519 one, every faulty receiver made from that scheme's reference by
tests/input_mutants/receivers.py is audited for real
(POST /webhook-endpoints/{id}/audit, a local HTTP server answering); the audit must fail
each one a forged or replayed webhook tells from the reference (at least 99 % of them),
and pass the reference and each mutant listed as equivalent, as it passes the reference."""

from __future__ import annotations

import os

import pytest

from tests.input_mutants.receivers import Mutant, Scheme, mutants, scheme
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
        assert failed(await audit(merchant, endpoint)) == set(), "the reference must pass"
        killed, survived, equivalent, words, wrong_equivalents = [], [], {}, {}, []
        for mutant in mutants(reference, key):
            receiver.responder = responder(mutant, reference)
            result = await audit(merchant, endpoint)
            if mutant.equivalent is not None:
                equivalent[mutant.name] = mutant.equivalent
                if not result["passed"]:  # told apart after all: the reason given is wrong
                    wrong_equivalents.append(f"{mutant.name} (failed {sorted(failed(result))})")
            elif result["passed"]:
                survived.append(mutant.name)
                words[mutant.name] = f"operator {mutant.operator}: passed every case"
            else:
                killed.append(mutant.name)
    finally:
        await receiver.stop()
    rate = report(f"receiver mutants ({signing})", killed, survived, equivalent, words)
    assert not wrong_equivalents, f"listed as equivalent, yet the audit failed them: {wrong_equivalents}"
    assert rate >= GOAL, survived
