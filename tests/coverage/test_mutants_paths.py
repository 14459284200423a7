"""Coverage's path rules on the cases the property tests rarely draw: a merchant's own
scenario whose end step carries no code (or whose path ends where no step leads), several
payouts on one walk, a removed scenario, a scenario walked to its end with the wrong
outcome, and an operator path taken twice. No database: the mutation lane runs these per
mutant (docs/mutation-testing.md)."""

from __future__ import annotations

from sandbox.coverage.paths import end_outcome, judge_walks, operator_moves, reached_end
from sandbox.payouts.model import scenarios
from sandbox.payouts.model.scenarios import Scenario, Step

TABLE = scenarios.table()
RETURNED_BARE = Scenario("mine", None, "t", "d", ["pending", "processing", "success", "returned"],
                         [Step("pending"), Step("processing", submit=True), Step("success"), Step("returned")],
                         custom=True)


def test_a_return_without_a_code_ends_with_the_rails_default_reason():
    assert end_outcome(RETURNED_BARE) == "rail_returned"
    walked = ["pending", "processing", "success", "returned"]
    assert reached_end(RETURNED_BARE, walked, True, [None, None, None, "rail_returned"], [False] * 4)
    assert not reached_end(RETURNED_BARE, walked, True, [None, None, None, "beneficiary_deceased"], [False] * 4)


def test_a_path_ending_where_no_step_leads_has_no_outcome():
    odd = Scenario("odd", None, "t", "d", ["pending", "on_hold"], [Step("pending")], custom=True)
    assert end_outcome(odd) is None


def _walk(scenario: str, statuses: list[str], codes: list[str | None], n: int = 1,
          simulated: list[bool] | None = None) -> dict:
    return {"scenario": scenario, "statuses": statuses, "codes": codes, "n": n, "submitted": True,
            "simulated": simulated or [False] * len(statuses)}


def test_walks_count_their_payouts_and_say_where_the_others_stand():
    closed = ["pending", "processing", "failed"]
    walks = [
        _walk("failed_account_closed", closed, [None, None, "account_closed"], n=2),
        _walk("failed_account_closed", closed, [None, None, "account_closed"], n=3),
        # The path walked to its last status with another outcome: not its end, stopped there.
        _walk("failed_title_mismatch", closed, [None, None, "account_closed"], n=4),
        _walk("success", ["pending", "processing"], [None, None]),
        _walk("success", ["pending", "failed"], [None, "account_closed"], simulated=[False, True]),
        _walk("gone", ["pending"], [None], n=6),
        # The scenario's last status, but reported because `simulate` asked: taken elsewhere.
        _walk("failed_account_frozen", closed, [None, None, "account_frozen"], simulated=[False, False, True]),
    ]
    by_name = {s.name: s for s in TABLE.scenarios}
    walked = judge_walks(walks, lambda w: by_name.get(w["scenario"]))
    assert walked.followed == {"failed_account_closed": 5, "failed_title_mismatch": 4, "success": 2, "gone": 6,
                              "failed_account_frozen": 1}
    assert walked.ended == {"failed_account_closed": 5}
    assert walked.stopped == {"failed_title_mismatch": {"failed"}, "success": {"processing"}, "gone": {"pending"}}
    assert walked.forced == {"success": {"failed with account_closed"},
                             "failed_account_frozen": {"failed with account_frozen"}}


def test_an_operator_path_taken_twice_counts_twice():
    assert operator_moves(["in_review", "pending", "on_hold", "processing", "on_hold", "processing"]) == {
        "approve": 1, "release": 2}
