"""What counts as a scenario's end and as an operator action, from a status history."""

from sandbox.coverage.paths import operator_moves, reached_end
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
