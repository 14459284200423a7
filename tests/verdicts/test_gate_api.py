"""POST /sandbox/gate, the verdict over HTTP, as a CI job in any language asks it: no
idempotency key, held or fell short at the top with each requirement's reason, the same
as JUnit with `Accept: application/xml`, and `Sandbox-Gate-Held` on every verdict. A
request it cannot judge is a 4xx naming why, never a verdict."""

from __future__ import annotations

import pytest
from junitparser import Failure, JUnitXml

from sandbox.payouts.model.scenarios import SCENARIO_NAMES
from tests.helpers import payout_body


async def gate(api, body: dict, **headers: str):
    # No X-Idempotency-Key: a verdict changes nothing.
    return await api.http.post("/sandbox/gate", json=body, headers=headers)


async def advance(api) -> None:
    r = await api.post("/sandbox/clock/advance", {"until": "idle"})
    assert r.status_code == 200, r.text


@pytest.fixture
async def walked_success(admin, stack):
    """A merchant on a manual clock whose one payout walked `success` to its end."""
    from tests.helpers import Api

    r = await admin.post("/sandbox/merchants", {"name": "gate", "opening_balance": "10000.00", "clock": "manual"})
    made = r.json()
    api = Api(stack.base_url, made["api_key"])
    api.merchant_id = made["merchant"]["id"]
    assert (await api.post("/payouts", payout_body())).status_code == 201
    await advance(api)
    yield api
    await api.aclose()


async def test_a_merchant_key_judges_its_own_merchant(walked_success):
    r = await gate(walked_success, {"require_coverage": ["success"]})
    assert r.status_code == 200, r.text
    assert r.headers["sandbox-gate-held"] == "true"
    assert r.json() == {"held": True, "merchants": [{"merchant_id": walked_success.merchant_id, "held": True,
                                                     "requirements": [{
                                                         "name": "coverage", "held": True,
                                                         "reason": "exercised all 1 asked for: success",
                                                         "details": [], "missing": []}]}]}
    short = await gate(walked_success, {"require_coverage": "all", "require_safe_retries": True})
    assert short.status_code == 200 and short.headers["sandbox-gate-held"] == "false"
    verdict = short.json()
    assert verdict["held"] is False
    [merchant] = verdict["merchants"]
    never = [n for n in SCENARIO_NAMES if n != "success"]
    said = f"{len(never)} of {len(SCENARIO_NAMES)} asked for fell short: " + ", ".join(
        f"{n} (never started)" for n in never)
    assert [(q["name"], q["held"], q["reason"]) for q in merchant["requirements"]] == [
        ("coverage", False, said),
        ("safe_retries", False, "never tested: no faulted write was recovered")]
    assert merchant["requirements"][0]["missing"] == never


async def test_the_same_verdict_as_junit(walked_success):
    r = await gate(walked_success, {"require_coverage": "all", "require_safe_retries": True},
                   Accept="application/xml")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/xml")
    assert r.headers["sandbox-gate-held"] == "false"
    [suite] = JUnitXml.fromstring(r.text)
    assert suite.name == f"sandbox gate {walked_success.merchant_id}"
    failures = {c.name: next(x.message for x in c.result if isinstance(x, Failure)) for c in suite}
    assert failures["safe_retries"] == "safe retries: never tested: no faulted write was recovered"
    assert failures["coverage"].startswith(f"coverage: {len(SCENARIO_NAMES) - 1} of {len(SCENARIO_NAMES)} asked for "
                                           "fell short: retry_then_success (never started)")


async def test_the_admin_key_judges_named_merchants_each_or_together(admin, walked_success, merchant):
    body = {"require_coverage": ["success"], "merchants": [walked_success.merchant_id, merchant.merchant_id]}
    r = await gate(admin, body)
    assert r.status_code == 200 and r.headers["sandbox-gate-held"] == "false"
    assert [(m["merchant_id"], m["held"]) for m in r.json()["merchants"]] == \
        [(walked_success.merchant_id, True), (merchant.merchant_id, False)]
    together = (await gate(admin, {**body, "together": True})).json()
    assert together["held"] is True and together["merchants"] == []
    assert together["together"]["merchant_ids"] == body["merchants"]


@pytest.mark.parametrize(("body", "why"), [
    ({}, "Nothing to judge"),
    ({"require_coverage": []}, "require_coverage names nothing"),
    ({"require_coverage": ""}, "require_coverage is blank"),
    ({"require_coverage": ["success", " "]}, "require_coverage has a blank name"),
    ({"audit_endpoint": "  "}, "audit_endpoint is blank"),
    ({"require_safe_retries": False}, "Nothing to judge"),
])
async def test_nothing_asked_is_never_held(merchant, body, why):
    r = await gate(merchant, body)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "nothing_to_judge" and why in r.json()["detail"]
    assert "sandbox-gate-held" not in r.headers


async def test_what_it_cannot_judge_is_a_problem_naming_why(admin, merchant, other_merchant):
    unknown = await gate(merchant, {"require_coverage": ["success", "sucess"]})
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_requirement"
    assert unknown.json()["detail"].startswith(f"'sucess': not a scenario of merchant {merchant.merchant_id}")
    endpoint = (await other_merchant.post("/webhook-endpoints", {"url": "http://127.0.0.1:9/hooks"})).json()
    theirs = await gate(merchant, {"audit_endpoint": endpoint["id"]})
    assert theirs.status_code == 404
    assert theirs.json()["detail"] == f"No webhook endpoint {endpoint['id']} of merchant {merchant.merchant_id}"
    path_like = await gate(merchant, {"audit_endpoint": "../payouts"})
    assert path_like.status_code == 422 and path_like.json()["code"] == "unmodelled_shape"
    assert path_like.json()["detail"].startswith("audit_endpoint '../payouts': audit_endpoint is a webhook endpoint's")
    named = await gate(merchant, {"require_safe_retries": True, "merchants": [other_merchant.merchant_id]})
    assert named.status_code == 400 and named.json()["errors"][0]["field"] == "merchants"
    none_named = await gate(admin, {"require_safe_retries": True})
    assert none_named.status_code == 400 and none_named.json()["errors"][0]["field"] == "merchants"
    nobody = await gate(admin, {"require_safe_retries": True, "merchants": [merchant.merchant_id, "mch_nobody"]})
    assert nobody.status_code == 404 and nobody.json()["detail"] == "No merchant 'mch_nobody'"
    extra = await gate(merchant, {"require_safe_retries": True, "require_everything": True})
    assert extra.status_code == 422 and extra.json()["code"] == "unmodelled_shape"  # tests/verdicts/test_shapes.py


async def test_together_is_an_admin_field_refused_with_a_merchant_key(merchant):
    """`together` judges named merchants as one: an admin field, as `merchants` is. A
    merchant key that sent it once got its own verdict as if the field were not there."""
    r = await gate(merchant, {"require_safe_retries": True, "together": True})
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    (error,) = r.json()["errors"]
    assert error["field"] == "together" and "admin key" in error["message"], error
    assert "sandbox-gate-held" not in r.headers
    assert (await gate(merchant, {"require_safe_retries": True, "together": False})).status_code == 200
