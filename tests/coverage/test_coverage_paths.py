"""What counts as a scenario's end and as an operator action, from a status history."""

from sandbox.coverage.paths import end_outcome, operator_moves, reached_end, simulated_to
from sandbox.payouts.model import scenarios

TABLE = scenarios.table()


def test_end_is_the_whole_path_in_order_even_after_review():
    success = TABLE.by_name("success")
    assert reached_end(success, ["in_review", "pending", "processing", "success"], submitted=True)
    assert not reached_end(success, ["pending", "processing"], submitted=True)
    retry = TABLE.by_name("retry_then_success")
    assert not reached_end(retry, ["pending", "processing", "success"], submitted=True)


def test_waiting_for_the_bank_ends_once_submitted():
    awaiting = TABLE.by_name("awaiting_ipn")
    assert not reached_end(awaiting, ["pending"], submitted=False)
    assert reached_end(awaiting, ["pending"], submitted=True)


def test_operator_moves_are_read_from_status_changes():
    history = ["in_review", "pending", "processing", "failed", "pending", "on_hold", "processing", "success"]
    assert operator_moves(history) == {"approve": 1, "reinitiate": 1, "release": 1}
    assert operator_moves(["pending", "on_hold", "rejected"]) == {"reject": 1}
    assert operator_moves(["pending", "cancelled"]) == {"cancel": 1}


def test_the_end_needs_the_scenarios_outcome_and_its_own_steps():
    mismatch = TABLE.by_name("failed_title_mismatch")
    walked = ["pending", "processing", "failed"]
    assert reached_end(mismatch, walked, True, [None, None, "incorrect_account_holder_name"], [False] * 3)
    # Another failure code at the end: another outcome, even with no simulate behind it.
    assert not reached_end(mismatch, walked, True, [None, None, "account_closed"], [False] * 3)
    # The right outcome, but the rail was made to report it: no step of the scenario.
    assert not reached_end(mismatch, walked, True, [None, None, "incorrect_account_holder_name"],
                           [False, False, True])
    # A wrong end, then the scenario walked again after a reinitiation: reached.
    again = [*walked, "pending", "processing", "failed"]
    assert reached_end(mismatch, again, True, [None, None, "account_closed", None, None,
                                               "incorrect_account_holder_name"], [False] * 6)
    returned = TABLE.by_name("success_then_returned")
    assert end_outcome(returned) == "beneficiary_deceased" and end_outcome(TABLE.by_name("success")) is None


def test_where_simulate_took_a_payout_is_its_last_forced_status():
    assert simulated_to(["pending", "processing"], [None, None], [False, False]) is None
    assert simulated_to(["pending", "processing", "failed"], [None, None, "account_closed"],
                        [False, False, True]) == "failed with account_closed"
    assert simulated_to(["pending", "success", "returned"], [None, None, "rail_returned"],
                        [False, True, True]) == "returned with rail_returned"
    assert simulated_to(["pending", "success"], [None, None], [False, True]) == "success"
