"""The payout state machine: which status may follow which, and what each move does
to the merchant's money. Every status change in the sandbox goes through these tables."""

from __future__ import annotations

IN_REVIEW, PENDING, PROCESSING, RETRYING = "in_review", "pending", "processing", "retrying"
ON_HOLD, SUCCESS, FAILED, REJECTED = "on_hold", "success", "failed", "rejected"
CANCELLED, RETURNED = "cancelled", "returned"

STATUSES = (IN_REVIEW, PENDING, PROCESSING, RETRYING, ON_HOLD, SUCCESS, FAILED, REJECTED, CANCELLED, RETURNED)

NEXT: dict[str, frozenset[str]] = {
    IN_REVIEW: frozenset({PENDING, REJECTED, CANCELLED}),
    PENDING: frozenset({PROCESSING, ON_HOLD, CANCELLED, SUCCESS, FAILED}),
    PROCESSING: frozenset({RETRYING, SUCCESS, FAILED}),
    RETRYING: frozenset({PROCESSING}),
    ON_HOLD: frozenset({PROCESSING, REJECTED, CANCELLED}),
    SUCCESS: frozenset({RETURNED}),
    FAILED: frozenset({PENDING}),  # reinitiate
    REJECTED: frozenset(),
    CANCELLED: frozenset(),
    RETURNED: frozenset(),
}

# Ledger kind posted when a payout enters a status: success spends the locked amount;
# failed, rejected and cancelled give it back to `available`; returned (after success)
# pays it back. From `failed` back to `pending` is a reinitiation, which locks the funds
# again.
LEDGER_ON_ENTER: dict[str, str] = {
    SUCCESS: "payout_succeeded",
    FAILED: "payout_released",
    REJECTED: "payout_released",
    CANCELLED: "payout_released",
    RETURNED: "payout_returned",
}


def ledger_kind(from_status: str, to_status: str) -> str | None:
    if from_status == FAILED and to_status == PENDING:
        return "payout_reinitiated"
    return LEDGER_ON_ENTER.get(to_status)


def sources(to_status: str) -> list[str]:
    """Every status from which `to_status` may be reached."""
    return [s for s, nxt in NEXT.items() if to_status in nxt]
