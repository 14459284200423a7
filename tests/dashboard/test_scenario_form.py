"""The dashboard's scenario forms without a server: the editor's rows become the API's
ScenarioCreate (blank rows are no step, messages name the row as the API names the
step), New test payout sends the scenario by name, and a payout page says what a
merchant's own scenario would do from the payout's own copy of it."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest

from sandbox.core.errors import ImpossibleTimeline
from sandbox.dashboard import filters, forms, scenario_form, views
from sandbox.payouts.lifecycle import planner
from sandbox.payouts.model import scenarios
from sandbox.payouts.model import views as payout_views
from sandbox.payouts.model.rows import PayoutRow
from sandbox.payouts.model.scenarios import Scenario, Step
from sandbox.scenarios import rules
from sandbox.scenarios.schemas import ScenarioCreate

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
DESTINATION = '{"type": "bank", "bank_code": "HBL", "account_number": "1234567890"}'


def _form(**fields: str) -> dict[str, str]:
    return {"name": "slow_return", "title": "Paid, then returned", **fields}


def test_rows_become_the_api_body_in_row_order_and_blank_rows_are_no_step():
    values = scenario_form.read(_form(**{
        "steps-0-status": "processing", "steps-0-after_s": "1", "steps-0-submit": "1",
        "steps-1-status": "", "steps-1-after_s": "",  # left blank: no step
        "steps-2-status": "success", "steps-2-after_s": "2.5",
        "steps-3-status": "returned", "steps-3-after_s": "172800", "steps-3-via": "ipn",
        "steps-3-failure_code": "incorrect_account_holder_name", "steps-3-reason": "title mismatch",
        "after_release-0-status": "",
    }))
    body = scenario_form.body(values)
    assert body == msgspec.convert({
        "name": "slow_return", "title": "Paid, then returned", "description": "",
        "steps": [{"status": "processing", "after_s": 1, "submit": True},
                  {"status": "success", "after_s": 2.5},
                  {"status": "returned", "after_s": 172800, "via": "ipn",
                   "failure_code": "incorrect_account_holder_name", "reason": "title mismatch"}],
        "after_release": []}, ScenarioCreate)
    # Read back as the form shows it: the same rows, so a refused form comes back as sent.
    again = scenario_form.copy_of(rules.checked(body))
    assert [(r.status, r.after_s, r.submit, r.ipn) for r in again.steps] == [
        ("processing", "1", True, False), ("success", "2.5", False, False), ("returned", "172800", False, True)]


def test_a_step_s_delay_reads_in_the_largest_unit_that_divides_it():
    assert [filters.seconds(s) for s in (0, 0.5, 90, 120, 7200, 172800, 2591999)] == [
        "0 s", "0.5 s", "90 s", "2 min", "2 h", "2 d", "2591999 s"]


@pytest.mark.parametrize(("fields", "message"), [
    ({"steps-0-after_s": "soon", "steps-0-status": "processing"},
     "Step 1 (steps[0].after_s): must be a number of seconds"),
    *[({"steps-0-after_s": text, "steps-0-status": "processing"},
       "Step 1 (steps[0].after_s): must be a number of seconds") for text in ("1_000", "nan", "inf", "0x10")],
    ({"steps-0-after_s": "5"}, "Step 1 (steps[0]): pick the status it enters"),
    ({"steps-0-status": "processing", "steps-0-after_s": "-1"}, "Step 1 (steps[0].after_s): must be at least 0"),
    ({"name": "Slow Return", "steps-0-status": "processing"}, "Name: must be lower-case letters"),
    ({"suffix": "70", "steps-0-status": "processing"}, "Suffix: must be four digits"),
    ({"title": "", "steps-0-status": "processing"}, "Title: must not be empty"),
    ({"title": "\u00a0\u2003", "steps-0-status": "processing"}, "Title: must not be empty"),
    ({}, "Steps: give at least one step"),
])
def test_a_form_the_schema_refuses_names_the_field_or_the_row(fields, message):
    with pytest.raises(forms.FormError) as refused:
        scenario_form.body(scenario_form.read(_form(**fields)))
    assert refused.value.messages[0].startswith(message), refused.value.messages


def test_a_refused_timeline_names_the_row_and_the_move():
    body = scenario_form.body(scenario_form.read(_form(**{
        "steps-0-status": "processing", "steps-0-submit": "1", "steps-1-status": "returned"})))
    with pytest.raises(ImpossibleTimeline) as refused:
        rules.checked(body)
    assert forms.messages_of(refused.value) == [
        "Step 2 (steps[1]): processing → returned is not a move of the payout state machine"
        " (from processing: failed, retrying, success)"]


def test_new_test_payout_sends_the_scenario_by_name_and_fills_a_number_that_picks_none():
    mine = Scenario(name="by_name_only", suffix=None, title="t", description="", path=["pending"],
                    steps=[Step(status="pending", submit=True)], custom=True)
    samples = forms.sample_suffixes([*scenarios.table().scenarios, mine])
    assert samples["success"] == "0001" and samples["by_name_only"] == "0000"
    body = forms.payout_create({"destination": "bank:HBL", "amount": "10.00", "scenario": "by_name_only"}, samples)
    assert body.scenario == "by_name_only" and body.destination.account_number == "12345678900000"
    # The name wins over a number typed that picks another scenario: the form shows the name.
    body = forms.payout_create({"destination": "bank:HBL", "amount": "10.00", "scenario": "success",
                                "account_number": "12345678900003"}, samples)
    assert body.scenario == "success"


def _walked(scenario: Scenario) -> PayoutRow:
    """A payout on `scenario` after every step due at time scale 0 (at once)."""
    row = PayoutRow(id="po_1", merchant="m_1", amount=1000, currency="PKR", status="pending",
                    scenario=scenario.name, destination=DESTINATION, reference=None, description=None,
                    metadata=None, attempts=0, failure_code=None, psp_reference=None,
                    status_history='[{"status":"pending","at":"2026-11-25T08:00:00Z","reason":"created"}]',
                    track=planner.MAIN, step_index=0, next_action_at=T0, created_at=T0, updated_at=T0,
                    script=scenarios.script_of(scenario))
    plan = planner.due(row, planner.Now(T0, 0))
    assert plan is not None
    return plan.row


def _custom(**body) -> Scenario:
    return rules.checked(msgspec.convert({"name": "mine", "title": "Mine", **body}, ScenarioCreate))


def test_a_custom_scenario_that_rests_processing_waits_for_the_bank():
    row = _walked(_custom(steps=[{"status": "processing", "after_s": 1, "submit": True}]))
    payout, followed = payout_views.to_api(row), views.followed(row)
    assert followed.scenario is not None and followed.scenario.custom and followed.waits_for_bank
    form = views.simulate_form(payout, followed, ["success", "failed"])
    assert form is not None and form.note.startswith("The scenario waits for the bank's answer")
    assert [c.label for c in form.outcomes] == ["success", "failed"]  # the answer, not an override


def test_a_custom_scenario_s_outcome_is_preselected_with_its_code():
    row = _walked(_custom(steps=[{"status": "processing", "after_s": 1, "submit": True},
                                 {"status": "retrying", "after_s": 1},
                                 {"status": "processing", "after_s": 1},
                                 {"status": "failed", "after_s": 1, "failure_code": "declined"}]))
    row = msgspec.structs.replace(row, status="processing", step_index=1, next_action_at=T0)  # held at step 2
    form = views.simulate_form(payout_views.to_api(row), views.followed(row), ["success", "failed"])
    assert form is not None and "would end this payout failed (declined)" in form.note
    assert [c.value for c in form.codes if c.selected] == ["declined"]
