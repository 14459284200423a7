"""The gate and the receiver audit judge only the input shapes they model
(sandbox/verdicts/shapes.py) and refuse every other before judging: 422
`unmodelled_shape`, naming the shape and what is modelled, never a verdict. Before, an
unknown requirement (`require_duplicates`) or a window on one was a bare 400 the gate's
words never explained, and a body asking the audit for some cases was ignored: the audit
ran its own battery and its `passed` answered a question nobody had asked."""

from __future__ import annotations

import httpx
import pytest

from sandbox.verdicts.shapes import GATE_MODELLED


async def gate(api, body) -> httpx.Response:
    return await api.http.post("/sandbox/gate", json=body)  # a verdict takes no idempotency key


@pytest.mark.parametrize(("body", "named", "modelled"), [
    ({"require_duplicates": True}, "'require_duplicates': not a requirement or field the gate models",
     GATE_MODELLED["require_safe_retries"]),
    ({"require_safe_retries": True, "window": 3600}, "'window': not a requirement or field the gate models",
     "no requirement takes a parameter or a window"),
    ({"require_safe_retries": {"window": 3600}}, "Expected `bool`, got `object` - at `$.require_safe_retries`",
     "require_safe_retries is " + GATE_MODELLED["require_safe_retries"]),
    ({"require_safe_retries": "yes"}, "Expected `bool`, got `str`", "no window"),
    ({"require_coverage": 5}, "at `$.require_coverage`", "require_coverage is " + GATE_MODELLED["require_coverage"]),
    ({"require_coverage": ["success", "x" * 65]}, "Expected `str` of length <= 64",
     "each at most 64 characters"),
    ({"require_coverage": ["success"] * 101}, "Expected `array` of length <= 100", "1 to 100 names"),
    ([{"require_safe_retries": True}], "a gate request is a JSON object, not list", "audit_endpoint: "),
    ({"require_coverage": "ALL"}, "require_coverage 'ALL'", GATE_MODELLED["require_coverage"]),
    ({"require_coverage": "success"}, "require_coverage 'success'", GATE_MODELLED["require_coverage"]),
    ({"audit_endpoint": "../payouts"}, "audit_endpoint '../payouts'", GATE_MODELLED["audit_endpoint"]),
])
async def test_a_shape_the_gate_does_not_model_is_refused_naming_it_and_what_is(merchant, body, named, modelled):
    r = await gate(merchant, body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["code"] == "unmodelled_shape", problem
    assert named in problem["detail"] and modelled in problem["detail"], problem["detail"]
    assert "sandbox-gate-held" not in r.headers  # not a verdict, held or not


async def test_the_modelled_shapes_still_judge(merchant):
    r = await gate(merchant, {"require_safe_retries": True, "require_coverage": ["success"]})
    assert r.status_code == 200, r.text
    assert r.headers["sandbox-gate-held"] == "false"
    assert [q["name"] for q in r.json()["merchants"][0]["requirements"]] == ["coverage", "safe_retries"]


async def test_a_key_twice_is_still_refused_as_everywhere(merchant):
    r = await merchant.http.post("/sandbox/gate", content=b'{"require_safe_retries": true, '
                                                          b'"require_safe_retries": false}',
                                 headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "more than once" in r.text


@pytest.mark.parametrize("body", [{"cases": ["valid_event"]}, {"scheme": "rsa"},
                                  {"url": "http://127.0.0.1:9/other"}, [1]])
async def test_the_receiver_audit_refuses_what_it_does_not_model_and_runs_nothing(merchant, body):
    endpoint = (await merchant.post("/webhook-endpoints", {"url": "http://127.0.0.1:9/hooks"})).json()
    r = await merchant.post(f"/webhook-endpoints/{endpoint['id']}/audit", body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["code"] == "unmodelled_shape"
    assert problem["detail"].startswith("the receiver audit does not take ")
    assert "every case of the battery (valid_event, duplicate_delivery" in problem["detail"]
    assert "hmac-sha256 or ed25519" in problem["detail"]
    listed = await merchant.http.get(f"/webhook-endpoints/{endpoint['id']}/audits")
    assert listed.status_code == 200 and listed.json()["data"] == []  # no audit was run or recorded
