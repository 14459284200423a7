"""The Pact-mutant lane (.ci/pact-mutants, docs/mutation-testing.md): every pact of the suite
that verifies (tests/input_mutants/pact_sources.py: the pact-python and pact-node examples'
consumer pacts, as their tests record them, and the hand-written ones of the guide and the
tests), each interaction alone, must verify; each
mutant tests/input_mutants/pacts.py derives from it must not: `sandbox pact verify` ends
it exit 1 or 2 and its interaction never `verified`. At least 99 % of the non-equivalent
ones; the equivalents, each with why, must still verify (a reason that stops being true
fails the lane too)."""

from __future__ import annotations

import asyncio
import json
import os
import sys

import pytest

from tests.input_mutants import pacts
from tests.input_mutants.pact_sources import every_source
from tests.input_mutants.report import GOAL, report
from tests.pact.test_verify import every_part_serves, example_pact, run  # noqa: F401

pytestmark = pytest.mark.skipif(not os.environ.get("SANDBOX_INPUT_MUTANTS"),
                                reason="an input-mutant lane: .ci/pact-mutants runs it")

PARTS = 3  # verifications side by side: the verifier waits on the sandbox's answers, which a second run fills

# Mutants the sandbox satisfies, by (interaction, operator): a pact that still holds is no
# defect of the verdict's.
EQUIVALENT: dict[tuple[str, ...], str] = {
    ("a new payout", "states swapped"): "'a payout' injects a merchant's apiKey as 'a merchant' does, and that "
                                        "merchant makes a new payout just the same: the pact still holds",
    ("a payout with an unknown field", "states swapped"): "any merchant's key gets the same 400 for a body with "
                                                          "an unknown field: the pact still holds under 'a payout'",
    ("a payout with an unknown field", "request.query added"): "the unknown field is refused 400 before the "
                                                               "query is, with or without it: the pact still holds",
    ("a payout with an unknown field", "request.body changed"): "a body with an unknown field is refused 400 "
                                                                "whatever its other fields say",
    ("v2-ready", "the sandbox is ready", "request.query added"): "a V2 query is a string: the Pact core sends an "
                                                                 "object there as no query at all",
    ("v3-http", "the sandbox is ready", "request.generators added"): "a generator for a request body the ready "
                                                                     "check never has: nothing is generated",
    ("a failed payout, matched by kind", "the first matcher of the OR at $.status made impossible"):
        "an OR holds when any of its matchers does: its second still matches `failed`, the first never did (the "
        "source verifies only because Pact reads an OR whole)",
}


# Operators whose every mutant of a V3 or V4 pact the sandbox satisfies, by operator: keys a
# verification does not read (a V1.1 or V2 pact with them is refused: they are not its keys).
# Each is held to it as the ones above are.
NOT_VERIFIED_KEYS = ("a key the Pact core reads as an annotation, never verified against the provider: no answer "
                     "of the sandbox can make it fail")
EQUIVALENT_OPERATORS = {
    "interaction.comments added": NOT_VERIFIED_KEYS,
    "interaction.interactionMarkup added": NOT_VERIFIED_KEYS,
    "interaction.key added": NOT_VERIFIED_KEYS + " (a key identifies the interaction in the pact file)",
    "interaction.pending changed": "a pending interaction the sandbox satisfies is verified, as Pact counts it; "
                                   "pending matters when it fails (`made pending, another status` is killed)",
    "response.generators added": "a response's generators make a mock's answers for the consumer's tests; the "
                                 "verifier checks the provider's answer against the rules, not against them",
    "interaction.generators added": "a message's generators make the consumer's test message; the verifier checks "
                                    "the webhook the sandbox makes against the rules, not against them",
    "contents.encoded changed": "a JSON object content is read as JSON whatever `encoded` says: the Pact core "
                                "decodes only a string content",
}


# The same, for a pact of any version.
EQUIVALENT_IN_EVERY_VERSION = {
    "pact.consumer changed": "the consumer's name labels the pact; the provider verified is the sandbox either way",
    "pact.provider changed": "the command verifies the pact against the sandbox whatever the pact calls it (the "
                             "provider's name is the consumer's label for it)",
}


async def verdicts(folder, files: list, parts: int = PARTS) -> list[dict]:
    """`sandbox pact verify --json` of each file, in order: `parts` runs side by side, each of a
    share of the files (each run's states are its own, as two CI jobs' are)."""
    async def one(part: int) -> list[dict]:
        written = folder / f"r-{part}.json"
        code, out = await run(sys.executable, "-m", "sandbox.cli", "pact", "verify", "--url", os.environ["_URL"],
                              "--admin-key", os.environ["_ADMIN"], *map(str, files[part::parts]),
                              "--json", str(written))
        assert code in (0, 1, 2), out
        assert written.exists(), out
        said = json.loads(written.read_text())
        # The exit code says what --json says: 0 only when every file's interactions verified.
        assert (code == 0) == all(map(verified, said)), f"exit {code} for {[verified(w) for w in said]}"
        return said
    shares = await asyncio.gather(*(one(part) for part in range(min(parts, len(files)))))
    return [shares[n % parts][n // parts] for n in range(len(files))]


def verified(written: dict) -> bool:
    return not written["notModelled"] and not written["unloadable"] and \
        written["counts"]["verified"] == len(written["interactions"])


async def test_every_pact_mutant_fails_or_is_refused(stack, example_pact, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setenv("_URL", stack.base_url)
    monkeypatch.setenv("_ADMIN", stack.admin_key)
    sources = every_source(example_pact)
    originals, made = [], []
    for name, pact in sources.items():
        for description, alone in pacts.alone(pact):
            originals.append((name, description, alone))
        for description, operator, mutant in pacts.mutants(pact):
            made.append((name, description, operator, mutant))
    files = []  # the sources and the mutants in one go: the sources are checked first below
    for n, pact in enumerate([pact for *_, pact in originals] + [pact for *_, pact in made]):
        files.append(tmp_path / f"pact-{n}.json")
        files[-1].write_text(pacts.dumps(pact))
    said = await verdicts(tmp_path, files)
    not_verifying = [f"{name}: {description}" for (name, description, _), w in zip(originals, said, strict=False)
                     if not verified(w)]
    assert not not_verifying, f"a source does not verify alone: {not_verifying}"
    said = said[len(originals):]
    killed, survived, equivalent, words, wrong = [], [], {}, {}, []
    for (name, description, operator, _), written in zip(made, said, strict=True):
        label = f"{name}: {description}: {operator}"
        why = EQUIVALENT.get((name, description, operator)) or EQUIVALENT.get((description, operator)) or (
            EQUIVALENT_OPERATORS.get(operator) if pacts.version_of(sources[name]) in ("3", "4") else None) or \
            EQUIVALENT_IN_EVERY_VERSION.get(operator)
        if why is not None:
            equivalent[label] = why
            if not verified(written):
                wrong.append(label)
        elif verified(written):
            survived.append(label)
            words[label] = "verified"
        else:
            killed.append(label)
    rate = report("pact mutants", killed, survived, equivalent, words)
    assert not wrong, f"listed as equivalent, yet it did not verify: {wrong}"
    assert rate >= GOAL, survived
