"""The pact shapes `sandbox pact verify` models (sandbox/pact/shapes.py), judged without a
sandbox or a verifier: each modelled shape passes, each other shape is refused in words
naming it and what is modelled. The code-mutation lane runs these per mutant."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from sandbox.pact.shapes import MODELLED, STATE_RULE, VERSIONS, _http, _message, refusal, version_of

READY = {"method": "GET", "path": "/api/v1/ready"}
STATE = [{"name": "a merchant"}]


def pact(version: str, **lists) -> dict:
    return {"consumer": {"name": "c"}, "provider": {"name": "MyPay"},
            "metadata": {"pactSpecification": {"version": version}}, **lists}


V4_HTTP = {"type": "Synchronous/HTTP", "description": "ready", "providerStates": STATE, "key": "k", "pending": False,
           "comments": {}, "interactionMarkup": {}, "pluginConfiguration": {}, "transport": "http",
           "request": {**READY, "query": {"a": ["1"]}, "headers": {}, "body": {"contentType": "application/json",
                                                                              "encoded": False, "content": {}},
                       "matchingRules": {}, "generators": {}},
           "response": {"status": 200, "headers": {}, "body": None, "matchingRules": {}, "generators": {}}}
V4_MESSAGE = {"type": "Asynchronous/Messages", "description": "a payout.failed webhook", "providerStates": STATE,
              "contents": {"contentType": "application/json", "encoded": False, "content": {"type": "payout.failed"}},
              "metadata": {"contentType": "application/json"}, "matchingRules": {}, "generators": {}, "key": "k",
              "pending": True, "comments": {}, "interactionMarkup": {}, "pluginConfiguration": {}}
V3_HTTP = {"description": "ready", "providerStates": [{"name": "a merchant", "params": {"balance": "1.00"}}],
           "request": {**READY, "query": "a=1", "matchingRules": {}, "generators": {}},
           "response": {"status": 200, "body": {"status": "ok"}, "matchingRules": {}, "generators": {}}}
V3_MESSAGE = {"description": "a payout.failed webhook", "providerStates": STATE, "contents": {"type": "payout.failed"},
              "metadata": {"contentType": "application/json"}, "matchingRules": {}, "generators": {}}
V2_HTTP = {"description": "ready", "providerState": "a merchant", "request": {**READY, "matchingRules": {}},
           "response": {"status": 200, "matchingRules": {}}}
V1_HTTP = {"description": "ready", "providerState": "a merchant", "request": READY, "response": {"status": 200}}


def changed(interaction: dict, **changes) -> dict:
    made = copy.deepcopy(interaction)
    for key, value in changes.items():
        if value is None:
            made.pop(key, None)
        else:
            made[key] = value
    return made


@pytest.mark.parametrize("modelled", [
    pact("4.0", interactions=[V4_HTTP, V4_MESSAGE]),
    pact("3.0.0", interactions=[V3_HTTP], messages=[V3_MESSAGE]),
    pact("3.0.0", interactions=[changed(V3_HTTP, providerStates=None, providerState="a merchant")]),
    pact("2.0.0", interactions=[V2_HTTP]),
    pact("1.1.0", interactions=[V1_HTTP]),
    pact("1.0.0", interactions=[V1_HTTP]),
    {**pact("2.0.0", interactions=[V2_HTTP]), "metadata": {"pact-specification": {"version": "2.0.0"}}},
    pact("3.0.0", interactions=[{**V3_HTTP, "providerStates": [], "request": READY}]),
    pact("3.0.0", messages=[changed(V3_MESSAGE, providerStates=None, providerState="a merchant")]),
])
def test_modelled_shapes_pass(modelled):
    assert refusal(modelled) is None


def refused(version: str, said: str, **lists) -> str:
    why = refusal(pact(version, **lists))
    assert why is not None and said in why, why
    major = "1.1" if version.startswith("1") else version.split(".")[0]
    assert why.endswith(f"Modelled in a V{major} pact: {MODELLED[major]}"), why
    return why


def test_the_five_findings_and_their_kin_are_refused():
    request = {"request": READY, "response": {"status": 418}}
    assert refused("3.0.0", "a message with a `request` or a `response`",
                   messages=[{"description": "418", **request}]).startswith("messages[0] ('418'): ")
    assert refused("3.0.0", "a message with a `request`", messages=[changed(V3_MESSAGE, response={"status": 1})])
    refused("4.0", "a message with a `request` or a `response`", interactions=[changed(V4_MESSAGE, request=READY)])
    refused("4.0", "with type Synchronous/HTTP", interactions=[changed(V4_MESSAGE, request=READY)])
    assert "with type" not in refused("3.0.0", "a message with", messages=[changed(V3_MESSAGE, request=READY)])
    refused("4.0", "a synchronous (request/reply) message: the sandbox has no request/reply message channel",
            interactions=[changed(V4_MESSAGE, type="Synchronous/Messages")])
    two = [{"name": "a payout"}, {"name": "a merchant"}]
    why = refused("4.0", "2 provider states ('a payout', 'a merchant'); the rule: " + STATE_RULE,
                  interactions=[changed(V4_HTTP, providerStates=two)])
    assert why.startswith("interactions[0] ('ready'): ")
    refused("3.0.0", "3 provider states", messages=[changed(V3_MESSAGE, providerStates=[*two, "odd"])])
    refused("3.0.0", "2 provider states", interactions=[changed(V3_HTTP, providerStates=two)])
    refused("3.0.0", "no `request` in a V3 pact's `interactions`: a message (a webhook) goes in its `messages`",
            interactions=[V3_MESSAGE])
    refused("3.0.0", "`pending` is a V4 key: a V3 verifier ignores it", interactions=[changed(V3_HTTP, pending=True)])
    refused("2.0.0", "`pending` is a V4 key: a V2 verifier", interactions=[changed(V2_HTTP, pending=False)])
    refused("3.0.0", "both `providerState` and `providerStates`",
            interactions=[changed(V3_HTTP, providerState="a merchant")])


def test_other_shapes_are_refused_by_the_schema():
    refused("4.0", "type 'Synchronous/HTTTP', not modelled", interactions=[changed(V4_HTTP, type="Synchronous/HTTTP")])
    refused("4.0", "'type' is a required property", interactions=[changed(V4_HTTP, type=None)])
    refused("4.0", "'bogus' was unexpected); the keys modelled here: body, generators, headers, matchingRules, "
            "method, path, query", interactions=[changed(V4_HTTP, request={**READY, "bogus": 1})])
    refused("4.0", "'x' was unexpected); the keys modelled here: content, contentType, encoded",
            interactions=[changed(V4_MESSAGE, contents={"x": 1})])
    refused("4.0", "pluginConfiguration", interactions=[changed(V4_HTTP, pluginConfiguration={"protobuf": {}})])
    refused("4.0", "a list this version does not have", interactions=[V4_HTTP], messages=[])
    refused("2.0.0", "a list this version does not have", interactions=[V2_HTTP], messages=[])
    refused("1.1.0", "'matchingRules' was unexpected", interactions=[changed(V1_HTTP, request={
        **READY, "matchingRules": {}})])
    refused("2.0.0", "'generators' was unexpected", interactions=[changed(V2_HTTP, request={
        **READY, "generators": {}})])
    refused("2.0.0", "'providerStates' was unexpected", interactions=[changed(V2_HTTP, providerState=None,
                                                                              providerStates=STATE)])
    refused("3.0.0", "'type' was unexpected", interactions=[changed(V3_HTTP, type="Synchronous/HTTP")])
    refused("3.0.0", "is not of type 'string'", interactions=[changed(V3_HTTP, request={"method": 1, "path": "/"})])
    refused("3.0.0", "'method' is a required property", interactions=[changed(V3_HTTP, request={"path": "/"})])
    refused("3.0.0", "'response' is a required property", interactions=[changed(V3_HTTP, response=None)])
    refused("3.0.0", "999 is greater than the maximum of 599", interactions=[changed(V3_HTTP, response={
        "status": 999})])
    refused("3.0.0", "'x' was unexpected", messages=[changed(V3_MESSAGE, x=1)])
    refused("3.0.0", "'extra' was unexpected", interactions=[changed(V3_HTTP, providerStates=[
        {"name": "a merchant", "extra": 1}])])
    refused("3.0.0", "'name' is a required property", interactions=[changed(V3_HTTP, providerStates=[{}])])
    refused("3.0.0", "'' should be non-empty", interactions=[changed(V3_HTTP, description="")])
    refused("4.0", "transport", interactions=[changed(V4_HTTP, transport="grpc")])
    why = refusal(pact("3.0.0", interactions=[V3_HTTP], consumer=None))
    assert why is not None and why.startswith("consumer: ")


@pytest.mark.parametrize("metadata", [None, {}, {"pactSpecification": {"version": "5.0"}},
                                      {"pactSpecification": {"version": "0.9"}}, {"pactSpecification": {}},
                                      {"pact-jvm": {"version": "4.6.0"}}])
def test_a_version_not_modelled_refuses_the_file(metadata):
    made = pact("4.0", interactions=[V4_HTTP])
    made["metadata"] = metadata
    assert version_of(made) is None
    assert refusal(made) == ("the pact states no specification version the sandbox models "
                             "(metadata.pactSpecification.version; modelled: 1.1, 2, 3, 4)")


# How each tool states the version (read from their sources): the Pact core (pact_ffi, which
# pact-js 10+, pact-python 2+ and pact-net 4+ write through) and pact-jvm write
# `pactSpecification`; pact-jvm 2 and 3 wrote `pact-specification`; pact-ruby's mock service
# (pact-js 9, pact-python 1) writes `pactSpecification`, the Ruby and JS tools before it
# `pactSpecificationVersion`. Each with the version the Pact core reads it as: that key, or
# V3 when it finds none (pactSpecificationVersion is never read).
WRITTEN = [
    ({"pactSpecification": {"version": "4.0"}, "pactRust": {"ffi": "0.4.28", "models": "1.2.8"},
      "pactJs": {"version": "13.2.0"}}, "4"),  # pact-js 13 (pact_ffi)
    ({"pactSpecification": {"version": "3.0.0"}, "pactRust": {"ffi": "0.4.28"}, "pactPython": {"version": "2.3.1"}},
     "3"),  # pact-python 2
    ({"pactSpecification": {"version": "4.0"}, "pact-jvm": {"version": "4.6.14"}}, "4"),  # pact-jvm 4
    ({"pact-specification": {"version": "2.0.0"}, "pact-jvm": {"version": "2.4.18"}}, "2"),  # pact-jvm 2
    ({"pactSpecification": {"version": "2.0.0"}}, "2"),  # pact-ruby's mock service, pact-js 9, pact-python 1
    ({"pactSpecification": {"version": "1.0.0"}}, "1.1"),  # the Pact core reads V1: modelled as V1.1's shapes
    ({"pactSpecification": {"version": "2.0.0"}, "pactSpecificationVersion": "2.0.0"}, "2"),  # both, agreeing
    ({"pactSpecification": {"version": "3.0.0"}, "pact-specification": {"version": "3.0.0"}}, "3"),  # the same twice
]


@pytest.mark.parametrize(("metadata", "core_reads"), WRITTEN)
def test_every_spelling_the_tools_write_is_read_as_the_pact_core_reads_it(metadata, core_reads):
    made = {**pact("4.0"), "metadata": metadata}
    assert version_of(made) == core_reads


# Statements the sandbox once read as one version and the Pact core as another (issue 91:
# pactSpecificationVersion "4.0.0" judged as V4, verified as V3, a message sent as `GET /`),
# either way round, and malformed ones: each refused in words, so the two never disagree.
READ_APART = [
    ({"pactSpecificationVersion": "4.0.0"}, "metadata.pactSpecificationVersion '4.0.0': the Pact core does not read "
     "this key (it reads metadata.pactSpecification.version) and would verify the pact as V3; write "
     '"pactSpecification": {"version": \'4.0.0\'} instead'),
    ({"pactSpecification": {}, "pactSpecificationVersion": "4.0.0"}, "the Pact core does not read this key"),
    ({"pactSpecificationVersion": "1.0.0"}, "would verify the pact as V3"),  # pact-consumer-js-dsl
    ({"pactSpecificationVersion": "2.0.0"}, "would verify the pact as V3"),  # V2 matchers read as V3's
    ({"pactSpecification": {"version": "3.0.0"}, "pact-specification": {"version": "4.0"}},
     "keeps whichever it reads last"),
    ({"pactSpecification": {}, "pact-specification": {"version": "4.0"}}, "keeps whichever it reads last"),
    ({"pactSpecification": {"version": "3.0.0"}, "pactSpecificationVersion": "4.0.0"},
     "says another version than metadata.pactSpecification.version '3.0.0'"),
    ({"pactSpecification": {"version": 4}}, "is not a string: the Pact core reads its JSON text leniently"),
    ({"pactSpecification": {"version": None}}, "is not a string"),
    ({"pactSpecification": {"version": "v4"}}, "'v4': not numbers and dots"),
    ({"pactSpecification": {"version": " 4.0"}}, "not numbers and dots"),
    ({"pactSpecification": {"version": "4.0.0-rc.1"}}, "not numbers and dots"),
    ({"pactSpecification": {"version": "4.0.0.0"}}, "not numbers and dots"),
    ({"pactSpecification": "4.0"}, "metadata.pactSpecification is str, not an object with a version"),
    ({"pact-specification": ["4.0"]}, "metadata.pact-specification is list, not an object with a version"),
    ("4.0", "metadata is not an object"),
]


@pytest.mark.parametrize(("metadata", "words"), READ_APART)
def test_a_version_the_pact_core_could_read_otherwise_is_refused_in_words(metadata, words):
    made = {**pact("4.0", interactions=[V4_HTTP, V4_MESSAGE]), "metadata": metadata}
    assert version_of(made) is None
    why = refusal(made)
    assert why is not None and words in why, why


def test_versions_read():
    assert [version_of(pact(v)) for v in ("1.0.0", "1.1.0", "2.0.0", "3.0.0", "4.0", "4.1")] == [
        "1.1", "1.1", "2", "3", "4", "4"]


def test_the_guide_lists_every_key_each_version_models():
    """The Pact guide's table ("What is judged, what is refused") names, in its version's row,
    each key of an interaction the schemas model: a key they take that the guide does not list
    would be judged while the guide says it is refused."""
    guide = (Path(__file__).resolve().parents[2] / "docs" / "contract-tests-with-pact.md").read_text()
    rows = {row.split("|")[1].strip(): row.split("|")[2] for row in guide.splitlines() if row.startswith("| ")}
    # A row builds on those above it ("as above", "as V3"): each version's keys are looked for in
    # its own row and the rows before it.
    said = {"1.1": rows["1.1, 2"], "2": rows["1.1, 2"], "3": rows["1.1, 2"] + rows["3"],
            "4": rows["1.1, 2"] + rows["3"] + rows["4"]}
    for version in VERSIONS:
        for schema in [_http(version)] + ([_message(version)] if version in ("3", "4") else []):
            props = schema["properties"]
            keys = set(props) | {k for part in ("request", "response") if part in props
                                 for k in props[part]["properties"]}
            keys -= {"pluginConfiguration"}  # modelled only empty: the row says what is refused of it
            missing = sorted(k for k in keys if f"`{k}`" not in said[version])
            assert not missing, f"V{version}: modelled, yet not in the guide's row: {missing}"
