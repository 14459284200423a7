"""The payout state machine: the statuses, which may follow which, the named sets every
other module asks ("is it final?", "may the merchant cancel it?"), and which ledger
kind each move posts. No other module lists statuses of its own: it imports them here."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from itertools import pairwise
from typing import Literal, TypeAlias, get_args

from sandbox.core.errors import ValidationFailed


class PayoutStatus(StrEnum):
    IN_REVIEW = "in_review"
    PENDING = "pending"
    PROCESSING = "processing"
    RETRYING = "retrying"
    ON_HOLD = "on_hold"
    SUCCESS = "success"
    FAILED = "failed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    RETURNED = "returned"


# Module-level names for the members (in declaration order), so callers write `states.PENDING`.
IN_REVIEW, PENDING, PROCESSING, RETRYING, ON_HOLD, SUCCESS, FAILED, REJECTED, CANCELLED, RETURNED = PayoutStatus

# The statuses' names as plain strings, for places that need `str` itself (`Literal`).
STATUSES = tuple(s.value for s in PayoutStatus)
StatusName: TypeAlias = Literal[STATUSES]  # type: ignore[valid-type]  # a `?status=` filter on the wire

NEXT: dict[PayoutStatus, frozenset[PayoutStatus]] = {
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

INITIAL: frozenset[PayoutStatus] = frozenset({PENDING, IN_REVIEW})
"""A new payout starts pending, or in review when its amount needs an admin's approval."""

THROUGH_REVIEW: frozenset[PayoutStatus] = frozenset({IN_REVIEW, PENDING})
"""The statuses a payout announces only on its way through an admin's review: in review,
then pending when approved. A payout below the threshold also starts pending, but its
only event then is `payout.created`: a `payout.pending` event needs a reviewed amount."""

FINAL: frozenset[PayoutStatus] = frozenset({SUCCESS, FAILED, REJECTED, CANCELLED, RETURNED})
"""The payout has ended, as a merchant sees it: its funds are paid out or back in
available. Only the merchant or the bank reopens one: a failed payout may be
reinitiated, a successful one may come back returned."""

TERMINAL: frozenset[PayoutStatus] = frozenset(s for s, following in NEXT.items() if not following)
"""No status may ever follow (rejected, cancelled, returned): a step due for such a payout
is dropped. A final payout that may still be reopened (success, failed) keeps its script:
the bank may still return a paid one."""

IN_FLIGHT: frozenset[PayoutStatus] = frozenset({IN_REVIEW, PENDING, PROCESSING, RETRYING, ON_HOLD})
"""Every status that still holds the merchant's funds in `locked` and has not ended, the
ones waiting for a person (in review, on hold) included: their sum is the money the
merchant cannot spend yet because of payouts."""

AWAITING_ADMIN: frozenset[PayoutStatus] = frozenset({IN_REVIEW, ON_HOLD})
"""Statuses in which the payout waits for an admin's decision, not for the worker."""

CANCELLABLE: frozenset[PayoutStatus] = frozenset({IN_REVIEW, PENDING, ON_HOLD})
"""The merchant may cancel a payout the bank has not seen yet: in review, on hold, or
pending before it was submitted to the rail (a submitted pending payout has a
psp_reference; see `may_cancel`)."""

REJECTABLE: frozenset[PayoutStatus] = frozenset({IN_REVIEW, ON_HOLD})
"""An admin may reject a payout that waits for their review or is held for compliance."""

APPROVABLE: frozenset[PayoutStatus] = frozenset({IN_REVIEW})
"""An admin's approval sends a reviewed payout on its way (to pending)."""

RELEASABLE: frozenset[PayoutStatus] = frozenset({ON_HOLD})
"""An admin's release lifts a compliance hold: the scenario's after-release steps run."""

REINITIABLE: frozenset[PayoutStatus] = frozenset({FAILED})
"""The merchant may try a failed payout again (it locks the funds again)."""

MAX_REINITIATIONS = 10
"""How many times one payout may be reinitiated, as real PSPs bound the retries of one
payout: a payout that failed this often needs a fresh one. It also bounds the payout's
status history, and so every event and answer that carries it."""


def reinitiations(history: Iterable[str]) -> int:
    """How often a payout with this status history (its statuses, oldest first) was
    reinitiated: each time it went from failed back to pending."""
    return sum(1 for before, after in pairwise(history) if before == FAILED and after == PENDING)


def may_reinitiate(status: str, history: Iterable[str]) -> bool:
    return status in REINITIABLE and reinitiations(history) < MAX_REINITIATIONS

RailOutcome = Literal["success", "failed", "returned"]
RAIL_OUTCOMES: frozenset[PayoutStatus] = frozenset(PayoutStatus(s) for s in get_args(RailOutcome))
"""What the bank rail may report for a submitted payout (the IPN callback, and what a
merchant may ask the rail to simulate): it was paid, it failed, or it came back."""


AWAITING_BANK: frozenset[PayoutStatus] = frozenset({PENDING, PROCESSING})
"""A payout submitted to the rail in these waits for the bank's answer (`rail_may_report`):
no step of its scenario need move it on."""

SUBMITTED_ONLY: frozenset[PayoutStatus] = frozenset({PROCESSING, SUCCESS, RETURNED})
"""Statuses the bank reaches only for a payout it was given: a scenario's step enters
one only once a step submitted the payout to the rail."""

WITH_FAILURE_CODE: frozenset[PayoutStatus] = frozenset({FAILED, RETURNED})
"""Statuses that carry why (`failure_code`): the payout failed, or the bank sent it back."""

STEPS_MAY_END_IN: frozenset[PayoutStatus] = RAIL_OUTCOMES | {ON_HOLD} | AWAITING_BANK
"""Where a scenario's steps may leave a payout: ended by the bank's answer, held for an
admin's release (on_hold), or submitted and waiting for the bank. Anywhere else nothing
would move it on."""


def is_final(status: str) -> bool:
    return status in FINAL


def may_cancel(status: str, submitted: bool) -> bool:
    """Whether the merchant may cancel: see CANCELLABLE; `submitted`: the payout has a
    psp_reference (the bank has it, so only the bank's answer ends it)."""
    return status in CANCELLABLE and not (status == PENDING and submitted)


def rail_may_report(status: str, outcome: str) -> bool:
    """Whether the rail may report `outcome` for a payout in `status` now."""
    return outcome in RAIL_OUTCOMES and outcome in NEXT[PayoutStatus(status)]


def outcomes_for(status: str) -> list[PayoutStatus]:
    """The rail outcomes a submitted payout in `status` may still receive, in a fixed order."""
    return [o for o in (SUCCESS, FAILED, RETURNED) if rail_may_report(status, o)]


# Ledger kind posted when a payout enters a status: the funds locked at creation are paid
# out on success, go back to available when the payout ends unpaid, and come back to
# available when the bank returns a paid one.
LEDGER_ON_ENTER: dict[PayoutStatus, str] = {
    SUCCESS: "payout_succeeded",
    FAILED: "payout_released",
    REJECTED: "payout_released",
    CANCELLED: "payout_released",
    RETURNED: "payout_returned",
}


def ledger_kind(from_status: str, to_status: str) -> str | None:
    """From `failed` back to `pending` is a reinitiation, which locks the funds again."""
    if from_status == FAILED and to_status == PENDING:
        return "payout_reinitiated"
    return LEDGER_ON_ENTER.get(PayoutStatus(to_status))


def sources(to_status: str) -> frozenset[PayoutStatus]:
    """Every status from which `to_status` may be reached."""
    return frozenset(s for s, nxt in NEXT.items() if to_status in nxt)


def parse_filter(value: str | None) -> PayoutStatus | None:
    """A `?status=` filter as the dashboard's forms send it (the API's is typed
    `StatusName`): empty means every status; anything else must name one (else a 400)."""
    if not value:
        return None
    if value not in STATUSES:
        raise ValidationFailed.field("status", f"must be one of {', '.join(STATUSES)}")
    return PayoutStatus(value)
