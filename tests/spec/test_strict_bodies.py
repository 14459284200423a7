"""Request bodies are as strict as the spec says: a number is a JSON number, a boolean
true or false, required text not blank; and the spec says what the server enforces."""

from __future__ import annotations

import pytest

from tests.helpers import payout_body

STEPS = [{"status": "processing", "submit": True}, {"status": "success", "after_s": 1}]


@pytest.mark.parametrize("step, field", [
    ({"status": "processing", "submit": True, "after_s": "5"}, "steps[0].after_s"),
    ({"status": "processing", "submit": True, "after_s": "NaN"}, "steps[0].after_s"),
    ({"status": "processing", "submit": "true"}, "steps[0].submit"),
], ids=["after_s", "NaN", "submit"])
async def test_a_scenario_step_takes_numbers_and_booleans_only_as_json_ones(merchant, step, field):
    r = await merchant.post("/sandbox/scenarios", {"name": "strict_types", "title": "t",
                                                   "steps": [step, STEPS[1]]})
    assert r.status_code == 400, r.text
    (error,) = r.json()["errors"]
    assert error["field"] == field and "at least" not in error["message"], error
    assert (await merchant.get("/sandbox/scenarios")).json()["scenarios"][-1]["name"] != "strict_types"


async def test_a_clock_advance_takes_seconds_only_as_a_number(merchant):
    r = await merchant.post("/sandbox/clock/advance", {"seconds": "1"})
    assert r.status_code == 400, r.text
    assert r.json()["errors"][0]["field"] == "seconds"


async def test_a_fault_rule_takes_times_only_as_a_number(merchant):
    r = await merchant.post("/sandbox/faults", {"path": "/balance", "fault": "slow", "times": "2"})
    assert r.status_code == 400, r.text
    assert r.json()["errors"][0]["field"] == "times"


@pytest.mark.parametrize("title", [" ", "   ", "\u00a0"])
async def test_a_scenario_title_of_spaces_is_refused(merchant, title):
    r = await merchant.post("/sandbox/scenarios", {"name": "blank_title", "title": title, "steps": STEPS})
    assert r.status_code == 400, r.text
    assert r.json()["errors"][0]["field"] == "title"


async def test_a_blank_account_title_is_refused(merchant):
    body = payout_body()
    body["destination"]["account_title"] = "  "
    r = await merchant.post("/payouts", body)
    assert r.status_code == 400, r.text


def _component(spec: dict, name: str) -> dict:
    return spec["components"]["schemas"][name]


async def test_the_spec_states_a_steps_limits(spec):
    step = _component(spec, "StepIn")
    assert step["additionalProperties"] is False
    (text,) = [o for o in step["properties"]["reason"]["oneOf"] if o.get("type") == "string"]
    assert text["maxLength"] == 500
    assert "pattern" in _component(spec, "ScenarioCreate")["properties"]["title"]


async def test_a_whole_number_written_with_a_fraction_is_an_integer(merchant):
    """JSON Schema counts 2.0 as an integer: the API does too (strings stay refused)."""
    r = await merchant.post("/sandbox/faults", {"path": "/contract-test/none", "fault": "slow", "times": 2.0})
    assert r.status_code == 201, r.text
    assert r.json()["times"] == 2
