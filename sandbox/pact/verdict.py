"""The verdict of `sandbox pact verify`: what happened to each interaction in the pact
files, judged from the files themselves, the sandbox's refusals and the verifier's raw
results. Nothing here calls anything: it is a function of those three.

The count is the files': every interaction listed (`interactions` and V3's `messages`)
ends as exactly one of

- verified: the verifier ran it and it matched, and the sandbox refused nothing of it;
- refused: the sandbox refused a state or the message (its words);
- failed: the verifier failed it (its mismatches in words), or never ran it (why);
- pending, failed: pending (as the verifier ran it; for one it never ran, marked `"pending":
  true` in a V4 pact) and not verified, whatever the reason (refused, failed, not run):
  Pact's pending, which does not fail the run unless `--fail-pending`.

So verified + refused + failed + pending = the interactions in the files. A file the
verifier could not load (an interaction `type` misspelt or missing, say) is no verdict
on its interactions: each is failed as not run, and the run exits 2 (could not verify)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

Outcome = Literal["verified", "refused", "failed", "pending"]
OUTCOMES: tuple[Outcome, ...] = ("verified", "refused", "failed", "pending")
# How the verifier names a file it could not load, in its `errors`.
LOAD_FAILURE = "Failed to load pact"


def listed(pact: dict) -> list[dict]:
    """The interactions a pact file lists: V4's `interactions` (HTTP and messages alike),
    and a V3 pact's `interactions` and `messages` both, whichever the verifier loads."""
    return [i for key in ("interactions", "messages") if isinstance(pact.get(key), list)
            for i in pact[key] if isinstance(i, dict)]


def description_of(interaction: dict) -> str:
    """An interaction's description, by which the verifier's results name it. A file with an
    interaction that has none is refused before it is verified (`verify.read_pact`)."""
    return interaction["description"]


def _pending(interaction: dict) -> bool:
    return interaction.get("pending") is True


@dataclass(frozen=True, slots=True)
class Judged:
    description: str
    outcome: Outcome
    words: list[str] = field(default_factory=list)  # why, when not verified


@dataclass(frozen=True, slots=True)
class FileVerdict:
    pact: str
    interactions: list[Judged]
    unloadable: str | None = None  # why the verifier could not load the file
    not_modelled: str | None = None  # why the file was refused before judging (shapes.refusal)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for i in self.interactions if i.outcome == outcome)


def mismatch_words(mismatch: Any) -> list[str]:
    """A verifier's mismatch (`{"type": "mismatches", "mismatches": [...]}` or
    `{"type": "error", "message": ...}`) as the lines it prints."""
    if not isinstance(mismatch, dict):
        return [json.dumps(mismatch)] if mismatch else []
    if mismatch.get("type") == "error" or "message" in mismatch:
        return [str(mismatch.get("message"))]
    said = []
    for each in mismatch.get("mismatches") or []:
        if isinstance(each, dict):
            where = each.get("path")
            words = str(each.get("mismatch") or json.dumps(each))
            said.append(f"{where} -> {words}" if where and not words.startswith(str(where)) else words)
    return said or [json.dumps(mismatch)]


def _errors_for(results: dict, description: str) -> list[str]:
    """The verifier's words on one interaction, from `errors` and `pendingErrors` alike: each
    names its interaction as "Verifying a pact between ... - DESCRIPTION"."""
    said: list[str] = []
    for key in ("errors", "pendingErrors"):
        for error in results.get(key) or []:
            if isinstance(error, dict) and str(error.get("interaction", "")).endswith(f" - {description}"):
                said.extend(mismatch_words(error.get("mismatch")))
    return said


def unloadable(results: dict | None, listed_count: int) -> str | None:
    """Why the verifier could not load the file, if it could not: its own load error, or
    no result at all for a file that lists interactions."""
    if results is None:
        return "the verifier returned no results for this file"
    for error in results.get("errors") or []:
        if isinstance(error, dict) and error.get("interaction") == LOAD_FAILURE:
            return " ".join(mismatch_words(error.get("mismatch"))) or LOAD_FAILURE
    if listed_count and not (results.get("interactionResults") or []):
        said = [w for e in results.get("errors") or [] if isinstance(e, dict)
                for w in mismatch_words(e.get("mismatch"))]
        return "the verifier ran none of its interactions" + (f": {'; '.join(said)}" if said else "")
    return None


def _both_lists(pact: dict) -> bool:
    return isinstance(pact.get("interactions"), list) and isinstance(pact.get("messages"), list) and not _is_v4(pact)


def _not_run_reason(pact: dict) -> str:
    if _both_lists(pact):
        return ("not run: the Pact verifier reads only the `messages` of a V3 pact that lists both `interactions` "
                "and `messages`; put the HTTP interactions in a pact file of their own, or write the pact as V4")
    return "not run: the verifier returned no result for it"


def _is_v4(pact: dict) -> bool:
    meta = pact.get("metadata")
    spec = meta.get("pactSpecification") if isinstance(meta, dict) else None
    version = spec.get("version") if isinstance(spec, dict) else None
    return isinstance(version, str) and version.startswith("4")


def judge(path: str, pact: dict, refused: dict[int, list[str]], results: dict | None) -> FileVerdict:
    """One file's verdict. `refused`: the sandbox's words by the interaction's place in
    `listed(pact)`; `results`: the verifier's own (its `interactionResults`, `errors`,
    `pendingErrors`), matched to the file's interactions by description, in order."""
    interactions = listed(pact)
    why = unloadable(results, len(interactions))
    if why is not None:
        return FileVerdict(path, [Judged(description_of(i), "failed", [f"not run: the pact could not be loaded: {why}"])
                                  for i in interactions], why)
    assert results is not None
    ran = [r for r in results.get("interactionResults") or [] if isinstance(r, dict)]
    # The HTTP interactions of a V3 pact with both lists never run: a message's result of the
    # same description is the message's, never theirs.
    skipped = len(listed({"interactions": pact["interactions"]})) if _both_lists(pact) else 0
    judged = []
    for place, interaction in enumerate(interactions):
        description = description_of(interaction)
        result = None if place < skipped else next((r for r in ran if r.get("description") == description), None)
        if result is not None:
            ran.remove(result)  # two interactions of one description each take a result of their own
        words = [f"refused: {w}" for w in refused.get(place, [])]
        # Pending as the verifier ran it; the file's own flag only for one it never ran (a V4
        # pact's: a V3 pact has no pending, and its verifier fails such an interaction).
        pending = result.get("pending") is True if result is not None else _is_v4(pact) and _pending(interaction)
        if result is None:
            words.append(_not_run_reason(pact))
        elif result.get("result") != "OK":
            words.extend(_errors_for(results, description) or mismatch_words(result.get("mismatch"))
                         or [f"the verifier's result: {result.get('result')!r}, with no words"])
        if not words:
            judged.append(Judged(description, "verified"))
        else:
            outcome: Outcome = "pending" if pending else "refused" if place in refused else "failed"
            judged.append(Judged(description, outcome, words))
    return FileVerdict(path, judged)


def not_judged(path: str, pact: dict, why: str) -> FileVerdict:
    """A file whose shape the sandbox does not model (shapes.refusal): nothing of it ran,
    each interaction failed as not judged, and the run exits 2."""
    said = f"not judged: the pact's shape is not modelled: {why}"
    return FileVerdict(path, [Judged(description_of(i), "failed", [said]) for i in listed(pact)], not_modelled=why)


@dataclass(frozen=True, slots=True)
class RunVerdict:
    files: list[FileVerdict]
    fail_pending: bool = False

    def count(self, outcome: Outcome) -> int:
        return sum(f.count(outcome) for f in self.files)

    @property
    def total(self) -> int:
        return sum(len(f.interactions) for f in self.files)

    @property
    def exit_code(self) -> int:
        """2: a file could not be loaded (nothing of it verified); 1: an interaction refused
        or failed (or pending and failed, with --fail-pending); 0: none."""
        if any(f.unloadable or f.not_modelled for f in self.files):
            return 2
        failing = self.count("refused") + self.count("failed") + (self.count("pending") if self.fail_pending else 0)
        return 1 if failing else 0

    def summary(self, url: str) -> list[str]:
        """The last lines: the count, each outcome that is not 0, and what pending means."""
        said = [f"{self.count(o)} {'pending, failed' if o == 'pending' else o}" for o in OUTCOMES[1:] if self.count(o)]
        lines = [f"{self.count('verified')} of {self.total} interaction(s) verified against {url}"
                 + (f": {', '.join(said)}" if said else "")]
        for f in self.files:
            if f.unloadable:
                lines.append(f"could not load {f.pact}: {f.unloadable}")
            if f.not_modelled:
                lines.append(f"not judged {f.pact}: {f.not_modelled}")
        if self.count("pending") and not self.fail_pending:
            lines.append("pending interactions that fail do not fail the run (Pact's pending); "
                         "--fail-pending makes them count")
        return lines
