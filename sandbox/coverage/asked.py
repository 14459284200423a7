"""What a coverage requirement may name (`sandbox gate --require-coverage`, the gate's
`require_coverage`, the pytest plugin's `--mypay-require-coverage`): a scenario, an
operator path, or `all`. What `all` means is said here once, in the words every door
(the API's spec, the CLI's help, the plugin's help, the guides) repeats. No imports at
the top: the CLI's help reads this module, and `sandbox --help` stays quick."""

from __future__ import annotations

OPERATOR_PATHS = ("simulate", "reinitiate", "cancel", "approve", "reject", "release")
EVERY_SCENARIO = "all"  # what a coverage requirement names for every scenario of the table
EVERY_SCENARIO_MEANS = ("every scenario of the built-in table (the ones GET /sandbox/scenarios lists before a "
                        "merchant's own), each reached its end; a merchant's own scenarios and the operator paths "
                        "count only when named")
"""What `all` means. Not the operator paths: a job that pays one payout per scenario and
lets its clock run holds it without an operator's act; not a merchant's own scenarios:
a test that makes one for itself does not make every other test's session short of it."""
SAFE_RETRIES_MEANS = (
    "at least one faulted write (a POST, PUT, PATCH or DELETE that committed an effect, answered 2xx, and whose "
    "answer a fault after commit took away) was recovered: a later answered request retried it with the same "
    "idempotency key or read its object back by id or `reference`; and no faulted write that paid (a payout, a "
    "batch's upload or retry, a reinitiation) was followed by a later write, on any route that pays, paying a "
    "second payout to the same account (bank or wallet and account number, the title aside) for the same amount, "
    "at any time after it (a same-key retry and a reinitiation of its own payout aside). A fault on a read, or on "
    "a write that committed nothing, is not judged")
"""What `require_safe_retries` checks, in the words every door (the API's spec, the CLI's
help, the plugin's help, the MCP tool, the guides) repeats. Here beside coverage's words
because the CLI's help reads this module without importing the judge."""
RESERVED_NAMES = (*OPERATOR_PATHS, EVERY_SCENARIO)
"""Words a requirement reads as an operator path or as every scenario, so no scenario of
a merchant's may be named one: `release` must mean a payout was released, never a
scenario that happens to be called so."""


def every_scenario() -> list[str]:
    """The names `all` stands for: see EVERY_SCENARIO_MEANS."""
    from sandbox.payouts.model import scenarios

    return [s.name for s in scenarios.table().scenarios]
