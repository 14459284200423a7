"""The gate's judge reads an operator path's name by the paths taken, never by a
scenario of that name: one made before the names were reserved may still be in a
coverage answer."""

from __future__ import annotations

from sandbox.verdicts.judge import coverage


def _answer(reached: list[str], released: int) -> dict:
    return {"merchant_id": "m_1", "scenarios": [{"name": n} for n in reached], "scenarios_reached": reached,
            "operator_paths": [{"name": "release", "count": released}], "faults": []}


def test_a_scenario_named_release_does_not_stand_for_a_release():
    finding = coverage("release", ["success"], [_answer(["release"], released=0)])
    assert not finding.held and finding.missing == ["release"]
    assert coverage("release", ["success"], [_answer(["release"], released=1)]).held
