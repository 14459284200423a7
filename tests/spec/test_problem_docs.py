"""The problem answers the spec documents are derived from the code
(sandbox/api/openapi_errors.py): what a route answers, the spec names, for that route."""

from __future__ import annotations

import re

import pytest

from sandbox.api.openapi_errors import _Walker
from sandbox.core.errors import Conflict, NotFound, ValidationFailed
from tests.helpers import payout_body
from tests.spec.test_contract import operation

CODE = re.compile(r"`([a-z_]+)`")


def documented(spec: dict, operation_id: str, status: int) -> set[str]:
    """The problem codes the spec lists for the operation's answer with that status."""
    response = operation(spec, operation_id)["responses"].get(str(status))
    return set(CODE.findall(response["description"].split(":")[0])) if response else set()


async def test_a_taken_scenario_name_is_documented_as_the_route_answers_it(merchant, spec):
    """The 409 of POST /sandbox/scenarios was documented as `invalid_state`; it answers
    `scenario_taken`."""
    body = {"name": "taken_twice", "title": "Paid",
            "steps": [{"status": "processing", "submit": True}, {"status": "success", "after_s": 1}]}
    assert (await merchant.post("/sandbox/scenarios", body)).status_code == 201
    again = await merchant.post("/sandbox/scenarios", body)
    assert again.status_code == 409, again.text
    assert again.json()["code"] in documented(spec, "createScenario", 409)


async def test_a_fault_rules_statuses_are_documented_where_a_rule_reaches(merchant, spec):
    """A fault rule made `POST /payouts/{id}/cancel` answer a 500 its operation did not document."""
    payout = (await merchant.post("/payouts", payout_body())).json()
    rule = await merchant.post("/sandbox/faults", {"path": "/payouts/{payout_id}/cancel",
                                                   "fault": "error_after_commit"})
    assert rule.status_code == 201, rule.text
    r = await merchant.post(f"/payouts/{payout['id']}/cancel")
    assert r.status_code == 500, r.text
    assert r.json()["code"] in documented(spec, "cancelPayout", 500)
    for kind, status in (("unavailable", 503), ("rate_limited", 429)):
        assert (await merchant.post("/sandbox/faults", {"path": "/balance", "fault": kind})).status_code == 201
        refused = await merchant.get("/balance")
        assert refused.status_code == status and refused.headers["retry-after"], refused.text
        assert refused.json()["code"] in documented(spec, "getBalance", status)
        assert "Retry-After" in operation(spec, "getBalance")["responses"][str(status)]["headers"]
        assert f"fault rule's `{kind}`" in operation(spec, "getBalance")["responses"][str(status)]["description"]
    for op_id in ("getBalance", "createPayout", "listScenarios", "cancelPayout"):
        op = operation(spec, op_id)
        assert "500" in op["responses"] and "`response_lost`" in op["description"], op_id


@pytest.mark.parametrize("op_id", ["listFaultRules", "createFaultRule", "listRequests", "getCoverage",
                                   "adminListPayouts", "adminApprovePayout"])
def test_no_fault_status_where_no_rule_reaches(spec, op_id):
    """The fault controls, the request log and coverage are never faulted, nor are the
    admin's routes (a fault rule is a merchant's): no 500 there, no fault in the words."""
    op = operation(spec, op_id)
    assert "500" not in op["responses"], op_id
    assert "fault rule" not in op.get("description", "") + op["responses"]["503"]["description"]


def _raises_through_a_helper(payout):
    if payout is None:
        raise _missing()
    try:
        payout.check()
    except Conflict:
        return None
    return payout


def _missing():
    return NotFound.field("payout", "no such payout") if ValidationFailed else None


def test_the_walk_follows_helpers_and_leaves_out_what_is_caught():
    walker = _Walker(package=__name__)
    walker.walk(_raises_through_a_helper)
    assert walker.errors == {NotFound, ValidationFailed}
