"""The scenario table: data in seeds/scenarios.json, chosen by the last four
digits of the destination number, review at and above 100,000.00, and every scenario's
path allowed by the payout state machine."""

from __future__ import annotations

import json

import msgspec
import pytest

from sandbox.core.money import parse_amount
from sandbox.payouts.model import scenarios, states
from sandbox.payouts.model.scenarios import SCENARIO_FILE, load, table

EXPECTED = {
    "0001": ("success", ["pending", "processing", "success"]),
    "0002": ("retry_then_success", ["pending", "processing", "retrying", "processing", "success"]),
    "0003": ("failed_account_closed", ["pending", "processing", "failed"]),
    "0004": ("awaiting_ipn", ["pending"]),
    "0005": ("on_hold", ["pending", "on_hold"]),
    "0006": ("success_then_returned", ["pending", "processing", "success", "returned"]),
    "0007": ("rail_timeout", ["pending", "processing", "retrying", "processing", "retrying", "processing", "failed"]),
    "0008": ("failed_title_mismatch", ["pending", "processing", "failed"]),
    "0009": ("failed_account_frozen", ["pending", "processing", "failed"]),
    "0010": ("failed_account_dormant", ["pending", "processing", "failed"]),
    "0011": ("bank_offline_then_success",
             ["pending", "processing", "retrying", "processing", "retrying", "processing", "success"]),
    "0012": ("returned_title_mismatch", ["pending", "processing", "success", "returned"]),
}


def test_file_loads():
    t = load()
    assert t.default == "success"
    assert {s.suffix for s in t.scenarios} == set(EXPECTED)
    assert table() is table()  # read once


@pytest.mark.parametrize("suffix", sorted(EXPECTED))
def test_choice_by_suffix(suffix):
    name, path = EXPECTED[suffix]
    for number in (f"1234567890{suffix}", f"0300123{suffix}", f"PK36SCBL000000112345{suffix}"):
        s = table().for_account(number)
        assert (s.name, s.suffix, s.path) == (name, suffix, path)


@pytest.mark.parametrize("number", ["12345678900000", "12345678900099", "12345678909999", "03001231234",
                                    "PK36SCBL0000001123456702", "12345678910000"])
def test_unknown_suffix_is_default(number):
    assert table().for_account(number).name == table().default == "success"


def test_only_the_last_four_digits_count():
    assert table().for_account("00030000000002").name == "retry_then_success"
    assert table().for_account("00020000000003").name == "failed_account_closed"


def test_failure_codes():
    t = table()
    assert t.by_name("failed_account_closed").failure_code == "account_closed"
    assert t.by_name("rail_timeout").failure_code == "rail_timeout"
    assert t.by_name("failed_account_closed").steps[-1].failure_code == "account_closed"
    assert t.by_name("failed_title_mismatch").failure_code == "incorrect_account_holder_name"
    assert t.by_name("failed_account_frozen").failure_code == "account_frozen"
    assert t.by_name("failed_account_dormant").failure_code == "account_dormant"
    assert t.by_name("returned_title_mismatch").steps[-1].failure_code == "incorrect_account_holder_name"


def test_retry_then_success_has_two_attempts():
    steps = table().by_name("retry_then_success").steps
    assert sum(1 for s in steps if s.status == "processing") == 2
    assert steps[0].submit


def test_awaiting_ipn_submits_and_stays_pending():
    steps = table().by_name("awaiting_ipn").steps
    assert [s.status for s in steps] == ["pending"] and steps[0].submit


def test_review_threshold():
    t = table()
    assert t.review.min_amount == "100000.00"
    assert t.review_min_minor == 10_000_000
    assert t.needs_review(parse_amount("100000.00"))
    assert not t.needs_review(parse_amount("99999.99"))
    assert t.needs_review(parse_amount("100000.01"))
    assert t.needs_review(parse_amount("99999999.99"))
    assert not t.needs_review(parse_amount("0.01"))


def test_by_name_unknown():
    with pytest.raises(KeyError):
        table().by_name("nope")


# --- consistency with the state machine ---------------------------------------------------

def _pairs(path: list[str]) -> list[tuple[str, str]]:
    return list(zip(path, path[1:], strict=False))


@pytest.mark.parametrize("scenario", load().scenarios, ids=lambda s: s.name)
def test_path_follows_the_state_machine(scenario):
    assert scenario.path[0] == states.PENDING
    assert all(s in states.STATUSES for s in scenario.path)
    for a, b in _pairs(scenario.path):
        assert b in states.NEXT[a], f"{scenario.name}: {a} → {b} is not allowed"


@pytest.mark.parametrize("scenario", load().scenarios, ids=lambda s: s.name)
def test_steps_agree_with_path(scenario):
    """The steps the worker runs replay the documented path (a `pending` step only
    submits; it does not move)."""
    walked = [states.PENDING]
    for step in scenario.steps:
        assert step.status in states.STATUSES
        assert step.after_s >= 0
        if step.status != walked[-1]:
            assert step.status in states.NEXT[walked[-1]], f"{scenario.name}: {walked[-1]} → {step.status}"
            walked.append(step.status)
    assert walked == scenario.path
    if scenario.failure_code:  # the reason it fails or, once paid, comes back
        assert scenario.steps[-1].status in (states.FAILED, states.RETURNED)
        assert scenario.steps[-1].failure_code == scenario.failure_code


@pytest.mark.parametrize("scenario", [s for s in load().scenarios if s.after_release], ids=lambda s: s.name)
def test_after_release_follows_the_state_machine(scenario):
    current = scenario.path[-1]
    assert current == states.ON_HOLD
    for step in scenario.after_release:
        assert step.status in states.NEXT[current], f"{scenario.name}: {current} → {step.status}"
        current = step.status


def test_review_path_is_allowed():
    assert states.PENDING in states.NEXT[states.IN_REVIEW]  # approve
    assert states.REJECTED in states.NEXT[states.IN_REVIEW]  # reject
    assert states.CANCELLED in states.NEXT[states.IN_REVIEW]


# --- the loader refuses bad tables ----------------------------------------------------------

def _write(tmp_path, mutate) -> object:
    data = json.loads(SCENARIO_FILE.read_text())
    mutate(data)
    p = tmp_path / "scenarios.json"
    p.write_text(json.dumps(data))
    return p


def test_duplicate_suffix_refused(tmp_path):
    p = _write(tmp_path, lambda d: d["scenarios"][1].update(suffix="0001"))
    with pytest.raises(ValueError, match="unique"):
        load(p)


def test_duplicate_name_refused(tmp_path):
    p = _write(tmp_path, lambda d: d["scenarios"][1].update(name="success"))
    with pytest.raises(ValueError, match="unique"):
        load(p)


def test_ipn_step_before_submitting_refused(tmp_path):
    # The rail's callback names the payout's psp_reference, which exists once submitted.
    def ipn_first(d):
        success = next(s for s in d["scenarios"] if s["name"] == "success")
        success["steps"][0].pop("submit")
        success["steps"][1]["via"] = "ipn"
    p = _write(tmp_path, ipn_first)
    with pytest.raises(ValueError, match="via ipn must follow a step that submits"):
        load(p)


def test_unknown_default_refused(tmp_path):
    p = _write(tmp_path, lambda d: d.update(default="nope"))
    with pytest.raises(KeyError):
        load(p)


def test_unknown_field_refused(tmp_path):
    p = _write(tmp_path, lambda d: d["scenarios"][0].update(colour="red"))
    with pytest.raises(msgspec.ValidationError):
        load(p)


def test_new_scenario_needs_no_code(tmp_path):
    def add(d):
        d["scenarios"].append({"name": "slow_success", "suffix": "0098", "title": "Slow", "description": "d",
                               "path": ["pending", "processing", "success"],
                               "steps": [{"status": "processing", "after_s": 60, "submit": True},
                                         {"status": "success", "after_s": 60}]})
    t = load(_write(tmp_path, add))
    assert t.for_account("12345678900098").name == "slow_success"
    assert scenarios.table().for_account("12345678900098").name == "success"  # the real table is untouched
