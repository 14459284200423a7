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
    {**pact("2.0.0", interactions=[V2_HTTP]), "metadata": {"pactSpecificationVersion": "2.0.0"}},
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


@pytest.mark.parametrize("metadata", [None, {}, "4", {"pactSpecification": "4.0"},
                                      {"pactSpecification": {"version": 4}}, {"pactSpecification": {"version": "5.0"}},
                                      {"pactSpecification": {"version": "0.9"}}])
def test_a_version_not_modelled_refuses_the_file(metadata):
    made = pact("4.0", interactions=[V4_HTTP])
    made["metadata"] = metadata
    assert version_of(made) is None
    assert refusal(made) == ("the pact states no specification version the sandbox models "
                             "(metadata.pactSpecification.version; modelled: 1.1, 2, 3, 4)")


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
