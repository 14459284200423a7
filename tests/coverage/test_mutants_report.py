"""`sandbox coverage` as a person reads it, line for line: each table, a scenario never
started, one stopped short and taken elsewhere by `simulate`, an operator path never taken,
an empty table, and a payout paid twice. No database: the mutation lane runs this per
mutant (docs/mutation-testing.md)."""

from __future__ import annotations

from sandbox.coverage import report, words

COVERAGE = {
    "merchant_id": "m_9",
    "scenarios": [
        {"name": "paid_instant", "reached_end": True, "payouts": 2, "stopped_at": [], "simulated_to": []},
        {"name": "failed_x", "reached_end": False, "payouts": 0, "stopped_at": [], "simulated_to": []},
        {"name": "held_y", "reached_end": False, "payouts": 1, "stopped_at": ["processing", "pending"],
         "simulated_to": ["failed with account_closed", "returned"]},
    ],
    "event_types": [{"type": "payout.success", "acknowledged": 3, "failed": 1}],
    "operator_paths": [{"name": "release", "count": 0}, {"name": "reject", "count": 2}],
    "error_codes": [],
    "faults": [{"kind": "response_lost", "injected": 2, "recovered": 1, "duplicated": 1, "open": 0, "not_writes": 4,
                "cases": [{"verdict": "recovered", "payout_id": "po_a", "request_id": "req_a",
                           "duplicate_payout_id": None},
                          {"verdict": "duplicated", "payout_id": "po_b", "request_id": "req_b",
                           "duplicate_payout_id": "po_c"}]}],
}

HELD_Y = "started, stopped at `pending`, `processing`; simulated to `failed` with `account_closed`, `returned`"
PAD = " " * (len(HELD_Y) - len("reached end"))

EXPECTED = f"""Coverage of merchant m_9

Scenarios
  scenario      reached end{PAD}  payouts  ended
  paid_instant  yes{" " * (len(HELD_Y) - 3)}  2        True
  failed_x      never started{" " * (len(HELD_Y) - 13)}  0        False
  held_y        {HELD_Y}  1        False

Webhook event types
  type            acknowledged (2xx)  failed attempts
  payout.success  3                   1

Operator paths
  path     taken        times
  release  never taken  0
  reject   yes          2

Error codes received
  code  times
  (none)

Faults after commit on writes: what the client did next
  fault          writes  recovered  duplicated  open  not writes (not judged)
  response_lost  2       1          1           0     4
  DUPLICATED: payout po_b (response_lost on request req_b) was paid again as po_c
"""


def test_the_coverage_tables_say_what_was_exercised_and_what_was_not():
    assert report.render(COVERAGE) == EXPECTED


def test_without_faults_the_faults_table_is_empty():
    bare = {**COVERAGE, "faults": []}
    del bare["faults"]
    assert report.render(bare).endswith(
        "Faults after commit on writes: what the client did next\n"
        "  fault  writes  recovered  duplicated  open  not writes (not judged)\n"
        "  (none)\n")


def test_error_codes_are_counted_by_code():
    coded = {**COVERAGE, "error_codes": [{"code": "insufficient_balance", "count": 3}]}
    assert ("Error codes received\n  code                  times\n  insufficient_balance  3\n"
            in report.render(coded))


def test_a_started_scenario_stopped_nowhere_named_or_only_simulated_says_so():
    started = {"payouts": 1, "stopped_at": [], "simulated_to": []}
    assert words.of_scenario([started]) == "started, not at its end"
    forced = {**started, "simulated_to": ["success"]}
    assert words.of_scenario([forced]) == "started, simulated to `success`"
