"""The Pact verdict's rules on the files and verifier answers the oracle rarely draws: pending
by the file's flag only in V4 and only when never run, a V3 pact's two lists, the verifier's
load errors, its words under `pendingErrors`, the mismatch shapes it answers, and the summary
line by line. No verifier and no database: the mutation lane runs these per mutant
(docs/mutation-testing.md)."""

from __future__ import annotations

from sandbox.pact.verdict import FileVerdict, Judged, RunVerdict, judge, mismatch_words, not_judged, unloadable

V4 = {"metadata": {"pactSpecification": {"version": "4.0"}}}
V3 = {"metadata": {"pactSpecification": {"version": "3.0.0"}}}
NO_RESULT = "not run: the verifier returned no result for it"
OK = {"interactionResults": [{"description": "ran", "result": "OK"}]}


def test_a_pending_interaction_never_run_is_pending_in_v4_only():
    pact = {"interactions": [{"description": "ran"}, {"description": "p", "pending": True}]}
    assert judge("f", {**V4, **pact}, {}, OK).interactions == [
        Judged("ran", "verified"), Judged("p", "pending", [NO_RESULT])]
    assert judge("f", {**V3, **pact}, {}, OK).interactions[1] == Judged("p", "failed", [NO_RESULT])
    # No version said, or said oddly: not V4.
    for meta in ({}, {"metadata": "4"}, {"metadata": {"pactSpecification": "4.0"}}):
        assert judge("f", {**meta, **pact}, {}, OK).interactions[1].outcome == "failed"
    assert judge("f.json", {**V4, **pact}, {}, OK).pact == "f.json"
    truthy = {"interactions": [{"description": "ran"}, {"description": "p", "pending": "yes"}]}
    assert judge("f", {**V4, **truthy}, {}, OK).interactions[1].outcome == "failed"


def test_v3_with_both_lists_says_why_the_interactions_did_not_run():
    pact = {**V3, "interactions": [{"description": "http"}], "messages": [{"description": "ran"}]}
    verdict = judge("f", pact, {0: ["no such state"]}, OK)
    assert verdict.interactions == [
        Judged("http", "refused", ["refused: no such state",
                                   "not run: the Pact verifier reads only the `messages` of a V3 pact that lists both "
                                   "`interactions` and `messages`; put the HTTP interactions in a pact file of their "
                                   "own, or write the pact as V4"]),
        Judged("ran", "verified")]
    assert [i.outcome for i in judge("f", {**pact, **V4}, {}, OK).interactions] == ["failed", "verified"]


def test_the_verifiers_words_come_from_errors_and_pending_errors_by_description():
    pact = {**V4, "interactions": [{"description": "a"}, {"description": "a"}, {"description": "b"}]}
    results = {
        "interactionResults": [{"description": "a", "result": "OK"}, {"description": "a", "result": "OK"},
                               {"description": "b", "result": "Failed", "pending": True}],
        "pendingErrors": [{"interaction": "Verifying a pact between c and p - b",
                           "mismatch": {"type": "mismatches", "mismatches": [
                               {"path": "$.id", "mismatch": "Expected 1 but received 2"},
                               {"path": "$.x", "mismatch": "$.x is missing"}, "not a dict"]}},
                          {"interaction": "Verifying a pact between c and p - bb", "mismatch": {"message": "no"}}],
        "errors": ["not a dict"]}
    assert judge("f", pact, {}, results).interactions == [
        Judged("a", "verified"), Judged("a", "verified"),
        Judged("b", "pending", ["$.id -> Expected 1 but received 2", "$.x is missing"])]


def test_a_failure_without_errors_says_its_mismatch_or_its_result():
    pact = {**V4, "interactions": [{"description": "a"}, {"description": "b"}]}
    results = {"interactionResults": [{"description": "a", "result": "Failed", "mismatch": {"message": "boom"}},
                                      {"description": "b", "result": "Failed"}]}
    assert judge("f", pact, {}, results).interactions == [
        Judged("a", "failed", ["boom"]),
        Judged("b", "failed", ["the verifier's result: 'Failed', with no words"])]
    said = {**results,
            "errors": [{"interaction": "Verifying a pact between c and p - a", "mismatch": {"message": "e"}}]}
    assert judge("f", pact, {}, said).interactions[0] == Judged("a", "failed", ["e"])


def test_the_mismatch_shapes_the_verifier_answers():
    assert mismatch_words(None) == [] and mismatch_words("") == []
    assert mismatch_words(["x"]) == ['["x"]']
    assert mismatch_words({"type": "error", "message": "m"}) == ["m"]
    assert mismatch_words({"type": "error"}) == ["None"]
    assert mismatch_words({"type": "mismatches", "mismatches": [{"path": "$.a"}]}) == ['$.a -> {"path": "$.a"}']
    assert mismatch_words({"type": "mismatches", "mismatches": [{"mismatch": "w"}]}) == ["w"]
    assert mismatch_words({"type": "mismatches", "mismatches": []}) == ['{"type": "mismatches", "mismatches": []}']
    assert mismatch_words({"type": "mismatches"}) == ['{"type": "mismatches"}']


def test_what_makes_a_file_unloadable():
    assert unloadable(None, 0) == "the verifier returned no results for this file"
    load = {"interaction": "Failed to load pact", "mismatch": {"message": "bad type"}}
    assert unloadable({"errors": [load]}, 1) == "bad type"
    assert unloadable({"errors": [{**load, "mismatch": None}]}, 0) == "Failed to load pact"
    two = {"type": "mismatches", "mismatches": [{"mismatch": "a"}, {"mismatch": "b"}]}
    assert unloadable({"errors": [{**load, "mismatch": two}]}, 1) == "a b"
    other = {"interaction": "x", "mismatch": {"message": "m1"}}
    assert unloadable({"errors": ["s", other, other]}, 2) == "the verifier ran none of its interactions: m1; m1"
    assert unloadable({}, 2) == "the verifier ran none of its interactions"
    assert unloadable({}, 0) is None
    assert unloadable({"interactionResults": [{}], "errors": [other]}, 2) is None
    verdict = judge("f", {**V4, "interactions": [{"description": "a"}]}, {}, None)
    assert verdict == FileVerdict("f", [Judged("a", "failed", [
        "not run: the pact could not be loaded: the verifier returned no results for this file"])],
        "the verifier returned no results for this file")


def _file(*outcomes: str, unloadable: str | None = None) -> FileVerdict:
    return FileVerdict("p.json", [Judged(str(n), o, [] if o == "verified" else ["w"])  # type: ignore[arg-type]
                                  for n, o in enumerate(outcomes)], unloadable)


def test_the_summary_and_the_exit_code():
    run = RunVerdict([_file("verified", "pending", "verified"), _file("refused", "failed", "failed")])
    assert run.total == 6 and run.exit_code == 1
    assert run.summary("U") == [
        "2 of 6 interaction(s) verified against U: 1 refused, 2 failed, 1 pending, failed",
        "pending interactions that fail do not fail the run (Pact's pending); --fail-pending makes them count"]
    pending = RunVerdict([_file("verified", "pending")])
    assert pending.exit_code == 0
    assert RunVerdict(pending.files, fail_pending=True).exit_code == 1
    assert RunVerdict(pending.files, fail_pending=True).summary("U") == [
        "1 of 2 interaction(s) verified against U: 1 pending, failed"]
    clean = RunVerdict([_file("verified")])
    assert clean.exit_code == 0 and clean.summary("U") == ["1 of 1 interaction(s) verified against U"]
    broken = RunVerdict([_file("failed", unloadable="why"), _file("verified")])
    assert broken.exit_code == 2
    assert broken.summary("U") == ["1 of 2 interaction(s) verified against U: 1 failed", "could not load p.json: why"]


def test_a_shape_not_modelled_is_not_judged_and_exits_2():
    pact = {**V4, "interactions": [{"description": "a"}, {"description": "b"}]}
    verdict = not_judged("f", pact, "why")
    said = "not judged: the pact's shape is not modelled: why"
    assert verdict == FileVerdict("f", [Judged("a", "failed", [said]), Judged("b", "failed", [said])],
                                  not_modelled="why")
    run = RunVerdict([verdict, _file("verified")])
    assert run.exit_code == 2
    assert run.summary("U") == ["1 of 3 interaction(s) verified against U: 2 failed", "not judged f: why"]
    assert RunVerdict([FileVerdict("g", [], not_modelled="w")]).exit_code == 2


def test_a_v3_http_interaction_never_takes_a_message_result_of_its_description():
    pact = {**V3, "interactions": [{"description": "same"}, "not a dict", {"description": "other"}],
            "messages": [{"description": "same"}, {"description": "other"}]}
    results = {"interactionResults": [{"description": "same", "result": "OK"},
                                      {"description": "other", "result": "Failed", "mismatch": {"message": "m"}}]}
    judged = judge("f", pact, {}, results).interactions
    assert [(j.description, j.outcome) for j in judged] == [
        ("same", "failed"), ("other", "failed"), ("same", "verified"), ("other", "failed")]
    assert judged[0].words[0].startswith("not run: the Pact verifier reads only the `messages`")
    assert judged[3].words == ["m"]
    # V4 lists both kinds in one list: each takes the k-th result of its description.
    v4 = {**V4, "interactions": [{"description": "same"}, {"description": "same"}]}
    two = {"interactionResults": [{"description": "same", "result": "OK"},
                                  {"description": "same", "result": "Failed", "mismatch": {"message": "m"}}]}
    assert [j.outcome for j in judge("f", v4, {}, two).interactions] == ["verified", "failed"]
    # Only a list in both keys is "both lists".
    one = {**V3, "interactions": [{"description": "same"}], "messages": "not a list"}
    assert judge("f", one, {}, OK | {"interactionResults": [{"description": "same", "result": "OK"}]}) \
        .interactions == [Judged("same", "verified")]
