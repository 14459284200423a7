"""Every field the spec marks required is in every answer: a built-in scenario and a
merchant's own have the same shape (`custom`, each step's `submit`)."""

from __future__ import annotations


async def test_every_scenario_and_step_carries_the_fields_the_spec_requires(merchant, spec):
    body = {"name": "mine_too", "title": "Mine", "steps": [{"status": "processing", "submit": True},
                                                           {"status": "success", "after_s": 1}]}
    assert (await merchant.post("/sandbox/scenarios", body)).status_code == 201
    schemas = spec["components"]["schemas"]
    scenarios = (await merchant.get("/sandbox/scenarios")).json()["scenarios"]
    assert {s["custom"] for s in scenarios} == {True, False}
    for scenario in scenarios:
        assert set(schemas["Scenario"]["required"]) <= set(scenario), scenario
        for step in scenario["steps"] + scenario["after_release"]:
            assert set(schemas["Step"]["required"]) <= set(step), (scenario["name"], step)
            assert isinstance(step["submit"], bool)
    assert {"custom", "after_release"} <= set(schemas["Scenario"]["required"])
    assert "submit" in schemas["Step"]["required"]
