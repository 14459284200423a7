from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from sandbox.core.types import (
    Amount,
    Code,
    Currency,
    Description,
    Digits,
    Iban,
    Metadata,
    Reason,
    Reference,
    Title,
    whole,
)
from sandbox.payouts.model.destinations import ACCOUNT_RE, MOBILE_NUMBER
from sandbox.payouts.model.failures import Failure, FailureCodeName
from sandbox.payouts.model.scenarios import SCENARIO_NAMES
from sandbox.payouts.model.states import RailOutcome, StatusName

MobileNumber = Annotated[str, msgspec.Meta(min_length=11, max_length=11,
                                         pattern=whole(MOBILE_NUMBER, "must be a mobile number like 03001234567"),
                                         examples=["03001230001"])]


class DestinationIn(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """A bank account (`bank_code` + `account_number`, or a PK `iban`), a mobile wallet
    (`wallet_code` + `account_number` 03XXXXXXXXX) or a Raast alias (a mobile number the
    directory resolves to a bank account). The last four digits pick the scenario.

    Decoded as one Struct because a bank account and an IBAN share `type: "bank"`; the
    published spec states the four shapes as a `oneOf` (`DESTINATION_SHAPES`) and
    `destinations.validate` holds every body to one of them."""

    type: Literal["bank", "wallet", "raast"]
    # Left out, not null: which of these a body carries is what tells the shapes apart.
    bank_code: Code | msgspec.UnsetType = msgspec.UNSET
    account_number: Digits | msgspec.UnsetType = msgspec.UNSET
    iban: Iban | msgspec.UnsetType = msgspec.UNSET
    wallet_code: Code | msgspec.UnsetType = msgspec.UNSET
    alias: MobileNumber | msgspec.UnsetType = msgspec.UNSET
    account_title: Title | None = None


# The shapes a destination takes, for the spec only (clients generate one class each).
# `bank_code` and `wallet_code` become enums of the seeded directory in the spec.
class BankAccountDestination(msgspec.Struct, forbid_unknown_fields=True):
    """A bank account: the bank's code in the directory and 10 to 16 digits."""

    type: Literal["bank"]
    bank_code: str
    account_number: Annotated[str, msgspec.Meta(pattern=ACCOUNT_RE.pattern, examples=["12345678900001"])]
    account_title: Title | None = None


class IbanDestination(msgspec.Struct, forbid_unknown_fields=True):
    """A Pakistani IBAN (24 characters, mod-97 check digits; spaces allowed); its bank comes
    from the IBAN."""

    type: Literal["bank"]
    iban: Annotated[str, msgspec.Meta(min_length=24, max_length=34, pattern="^[Pp][Kk][0-9]{2}[A-Za-z0-9 ]+$",
                                      examples=["PK36SCBL0000001123456702"])]
    bank_code: str | msgspec.UnsetType = msgspec.UNSET  # when sent, it must be the IBAN's bank
    account_title: Title | None = None


class WalletDestination(msgspec.Struct, forbid_unknown_fields=True):
    """A mobile wallet: the wallet's code in the directory and the mobile number."""

    type: Literal["wallet"]
    wallet_code: str
    account_number: MobileNumber
    account_title: Title | None = None


class RaastDestination(msgspec.Struct, forbid_unknown_fields=True):
    """A Raast alias: a mobile number the directory resolves to a bank account."""

    type: Literal["raast"]
    alias: MobileNumber
    account_title: Title | None = None


DESTINATION_SHAPES = (BankAccountDestination, IbanDestination, WalletDestination, RaastDestination)


class Destination(msgspec.Struct, omit_defaults=True):
    """Where a payout goes, as stored and returned: decoded as one Struct; the published
    spec states it as a `oneOf` of the shapes the API returns (`DESTINATION_OUT_SHAPES`)."""

    type: Literal["bank", "wallet", "raast"]
    bank_code: str | None = None
    account_number: str | None = None
    iban: str | None = None
    wallet_code: str | None = None
    alias: str | None = None
    account_title: str | None = None


# The shapes of a returned destination, for the spec only: the request's, normalised. A
# bank account and a wallet come back as sent; an IBAN without spaces and always with its
# bank; a Raast alias with the bank account the directory resolved it to.
class IbanDestinationOut(msgspec.Struct):
    """A Pakistani IBAN and its bank."""

    type: Literal["bank"]
    bank_code: str
    iban: str
    account_title: str | None = None


class RaastDestinationOut(RaastDestination, kw_only=True):
    """A Raast alias and the bank account the directory resolved it to."""

    bank_code: str
    account_number: str


DESTINATION_OUT_SHAPES = (BankAccountDestination, IbanDestinationOut, WalletDestination, RaastDestinationOut)


ScenarioChoice = Annotated[str, msgspec.Meta(
    min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$", examples=["on_hold"],
    description="Sandbox only: the scenario to follow, by name (a built-in one or your own, GET"
                " /sandbox/scenarios), whatever the destination's last four digits say")]


class PayoutCreate(msgspec.Struct, forbid_unknown_fields=True):
    amount: Amount
    destination: DestinationIn
    currency: Currency = "PKR"
    reference: Reference | None = None
    description: Description | None = None
    metadata: Metadata | None = None
    scenario: ScenarioChoice | None = None


class PayoutCancel(msgspec.Struct, forbid_unknown_fields=True):
    reason: Reason | None = None


class StatusChange(msgspec.Struct):
    status: StatusName
    at: str
    reason: str | None


class Payout(msgspec.Struct):
    id: str
    object: Literal["payout"]
    amount: str
    currency: str
    status: StatusName
    # A built-in scenario's name or one of the merchant's own: a string, not an enum.
    scenario: Annotated[str, msgspec.Meta(
        description="The scenario the payout follows (GET /sandbox/scenarios): a built-in one ("
                    + ", ".join(SCENARIO_NAMES) + ") or one of yours", examples=["success"])]
    destination: Destination
    reference: str | None
    description: str | None
    metadata: dict[str, str] | None
    attempts: int
    failure_code: Annotated[FailureCodeName | None, msgspec.Meta(
        description="Why the payout failed or came back: set on every `failed` or `returned` payout (`rail_rejected`"
                    " or `rail_returned` when the bank gave no reason), null on any other")]
    # The catalogue entry of `failure_code` (ISO 20022 reason, retryable, message); null without one.
    failure: Failure | None
    psp_reference: str | None
    status_history: list[StatusChange]
    created_at: str
    updated_at: str


class PayoutPage(msgspec.Struct):
    data: list[Payout]
    has_more: bool
    next_cursor: str | None


class PayoutReinitiate(msgspec.Struct, forbid_unknown_fields=True):
    """Optionally a corrected destination; the scenario follows the new account number."""

    destination: DestinationIn | None = None


class SimulateOutcome(msgspec.Struct, forbid_unknown_fields=True):
    status: RailOutcome
    failure_code: FailureCodeName | None = None


class SimulateAccepted(msgspec.Struct):
    payout_id: str
    notification_id: str
    status: RailOutcome
    delivery: Literal["queued"]


class ReviewDecision(msgspec.Struct, forbid_unknown_fields=True):
    reason: Reason | None = None


class VerifyAccountOut(msgspec.Struct):
    valid: bool
    account_title: str | None
    reason: FailureCodeName | None
