"""Why a payout failed: every `failure_code` the sandbox sets, with its meaning in words.
The scenario table, the simulate route and the rail's callback may only name these, so
the published spec states `failure_code` as this closed set. A new code is added here."""

from __future__ import annotations

from typing import Literal, TypeAlias

FAILURES: dict[str, str] = {
    "account_closed": "the beneficiary's bank reports the account as closed",
    "invalid_account": "the bank does not know this account",
    "rail_rejected": "the bank rail refused the payout without giving a reason",
    "rail_timeout": "every attempt timed out at the bank rail",
}

FAILURE_CODES = tuple(FAILURES)
FailureCodeName: TypeAlias = Literal[FAILURE_CODES]  # type: ignore[valid-type]

RAIL_REJECTED = "rail_rejected"
"""The code of a failure the rail reported without one."""
