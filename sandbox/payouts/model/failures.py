"""Why a payout failed or was returned: the catalogue of every `failure_code` the sandbox
sets, shaped after the codes card-and-bank PSPs publish for payouts, each with the ISO 20022
reason a rail that speaks ISO 20022 (Raast does) gives for it, whether trying again as-is
can succeed, and its meaning in words. The scenario table, the simulate route and the
rail's callback may only name these, so the published spec states `failure_code` as this
closed set; the payout's `failure` carries the entry. A new code is added here.

The first four codes were published before the catalogue grew and stay members, so an
integrator's tests that match on them keep passing.

Every failed or returned payout has a code: a rail that reports a failure without one
records `rail_rejected`, a return without one `rail_returned` (ISO 20022's MS03, "reason
not specified"), whoever moved it (`default_for`)."""

from __future__ import annotations

from typing import Annotated, Literal, TypeAlias

import msgspec

from sandbox.payouts.model import states

# (code, ISO 20022 reason, retryable, message)
_ENTRIES: list[tuple[str, str, bool, str]] = [
    # Published from the start: kept for integrators that already match on them.
    ("account_closed", "AC04", False, "the beneficiary's bank reports the account as closed"),
    ("invalid_account", "AC01", False, "the bank does not know this account"),
    ("rail_rejected", "MS03", True, "the bank rail refused the payout without giving a reason"),
    ("rail_timeout", "AB06", True, "every attempt timed out at the bank rail"),
    # The rest of the codes integrators meet on real payouts.
    ("account_frozen", "AC06", False, "the account is blocked (frozen) and accepts no credits"),
    ("account_dormant", "AC06", False,
     "the account is dormant and blocked for credits until its holder reactivates it"),
    ("bank_account_restricted", "AG03", False, "the account does not accept this kind of payment"),
    ("bank_ownership_changed", "RC07", False,
     "the account's branch or bank changed hands; the account details are no longer valid"),
    ("could_not_process", "MS03", True, "the bank could not process the payout; trying again may succeed"),
    ("debit_not_authorized", "AG01", False, "the bank forbids this transaction on the account"),
    ("declined", "MS02", False, "the beneficiary's bank declined the payout"),
    ("incorrect_account_holder_name", "BE01", False,
     "the beneficiary's name does not match the account's title"),
    ("insufficient_funds", "AM04", True, "the paying account lacked the funds at the rail"),
    ("invalid_account_number", "AC01", False, "the account number is not a valid account at this bank"),
    ("invalid_currency", "AM03", False, "the account cannot receive this currency"),
    ("no_account", "AC01", False, "no account with these details exists at the bank"),
    # Return reasons: why the beneficiary's bank sent a paid payout back, as ISO 20022
    # returns give them (account_closed, no_account, account_frozen and
    # incorrect_account_holder_name above are return reasons too).
    ("beneficiary_deceased", "MD07", False, "the beneficiary has died; the bank sent the funds back"),
    ("duplicate_payout", "AM05", False, "the bank sent the funds back as a duplicate of a payment it had credited"),
    ("recalled", "FOCR", False, "the funds came back following a request to cancel (recall) the payout"),
    ("rail_returned", "MS03", True, "the beneficiary's bank sent the funds back without giving a reason"),
]

FAILURE_CODES = tuple(code for code, *_ in _ENTRIES)
FailureCodeName: TypeAlias = Literal[FAILURE_CODES]  # type: ignore[valid-type]


class Failure(msgspec.Struct, frozen=True):
    """A catalogue entry: why a payout failed (status `failed`) or came back (`returned`)."""

    code: Annotated[FailureCodeName, msgspec.Meta(description="The failure's code")]
    iso_reason: Annotated[str, msgspec.Meta(description="The ISO 20022 reason code it stands for (e.g. AC06)")]
    retryable: Annotated[bool, msgspec.Meta(description="Whether sending the same payout again can succeed")]
    message: Annotated[str, msgspec.Meta(description="What happened, in words")]


CATALOGUE: dict[str, Failure] = {code: Failure(code, iso, retryable, message)  # type: ignore[arg-type]
                                 for code, iso, retryable, message in _ENTRIES}
FAILURES: dict[str, str] = {code: entry.message for code, entry in CATALOGUE.items()}

RAIL_REJECTED = "rail_rejected"
"""The code of a failure reported without one."""
RAIL_RETURNED = "rail_returned"
"""The code of a return reported without one."""
_DEFAULTS: dict[str, str] = {states.FAILED: RAIL_REJECTED, states.RETURNED: RAIL_RETURNED}


def default_for(status: str) -> str | None:
    """The code a move to `status` records when nobody gave one: a failure's or a
    return's default; None for every other status, which carries no code of its own."""
    return _DEFAULTS.get(status)


def detail(code: str | None) -> Failure | None:
    """The catalogue entry of a payout's `failure_code` (None when it has none)."""
    return CATALOGUE.get(code) if code is not None else None
