from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from sandbox.core.pagination import HasMore, NextCursor
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
    said,
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


BANK_WORDS = "`bank`: a bank account"
BANK_CODE_WORDS = "The bank's code in the directory (GET /api/v1/directory)"
TITLE_WORDS = "The account holder's name, as sent; null or left out when not sent"


# The shapes a destination takes, for the spec only (clients generate one class each).
# `bank_code` and `wallet_code` become enums of the seeded directory in the spec.
class BankAccountDestination(msgspec.Struct, forbid_unknown_fields=True):
    """A bank account: the bank's code in the directory and 10 to 16 digits."""

    type: Annotated[Literal["bank"], said(BANK_WORDS)]
    bank_code: Annotated[str, said(BANK_CODE_WORDS)]
    account_number: Annotated[str, msgspec.Meta(pattern=ACCOUNT_RE.pattern, examples=["12345678900001"],
                                                description="The account's 10 to 16 digits; the last four pick "
                                                            "the scenario")]
    account_title: Annotated[Title | None, said(TITLE_WORDS)] = None


class IbanDestination(msgspec.Struct, forbid_unknown_fields=True):
    """A Pakistani IBAN (24 characters, mod-97 check digits; spaces allowed); its bank comes
    from the IBAN."""

    type: Annotated[Literal["bank"], said(BANK_WORDS)]
    iban: Annotated[str, msgspec.Meta(min_length=24, max_length=34, pattern="^[Pp][Kk][0-9]{2}[A-Za-z0-9 ]+$",
                                      examples=["PK36SCBL0000001123456702"],
                                      description="The IBAN, any case, spaces allowed; its last four digits pick "
                                                  "the scenario")]
    bank_code: Annotated[str, said("Optional: when sent, it must be the IBAN's bank in the directory")] | (
        msgspec.UnsetType) = msgspec.UNSET
    account_title: Annotated[Title | None, said(TITLE_WORDS)] = None


class WalletDestination(msgspec.Struct, forbid_unknown_fields=True):
    """A mobile wallet: the wallet's code in the directory and the mobile number."""

    type: Annotated[Literal["wallet"], said("`wallet`: a mobile wallet")]
    wallet_code: Annotated[str, said("The wallet's code in the directory (GET /api/v1/directory)")]
    account_number: Annotated[MobileNumber, said("The wallet's mobile number, 03 and nine digits; the last four "
                                                 "pick the scenario")]
    account_title: Annotated[Title | None, said(TITLE_WORDS)] = None


class RaastDestination(msgspec.Struct, forbid_unknown_fields=True):
    """A Raast alias: a mobile number the directory resolves to a bank account."""

    type: Annotated[Literal["raast"], said("`raast`: a Raast alias")]
    alias: Annotated[MobileNumber, said("The alias, a mobile number (03 and nine digits); its last four digits "
                                        "pick the scenario")]
    account_title: Annotated[Title | None, said(TITLE_WORDS)] = None


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

    type: Annotated[Literal["bank"], said(BANK_WORDS)]
    bank_code: Annotated[str, said("The IBAN's bank, its code in the directory")]
    iban: Annotated[str, said("The IBAN as sent, upper case and without spaces")]
    account_title: Annotated[str | None, said(TITLE_WORDS)] = None


class RaastDestinationOut(RaastDestination, kw_only=True):
    """A Raast alias and the bank account the directory resolved it to."""

    bank_code: Annotated[str, said("The bank the directory resolved the alias to, its code in the directory")]
    account_number: Annotated[str, said("The bank account the directory resolved the alias to")]


DESTINATION_OUT_SHAPES = (BankAccountDestination, IbanDestinationOut, WalletDestination, RaastDestinationOut)


ScenarioChoice = Annotated[str, msgspec.Meta(
    min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$", examples=["on_hold"],
    description="Sandbox only: the scenario to follow, by name (a built-in one or your own, GET"
                " /sandbox/scenarios), whatever the destination's last four digits say")]


class PayoutCreate(msgspec.Struct, forbid_unknown_fields=True):
    amount: Annotated[Amount, said("How much to pay out, a decimal string in the currency's units")]
    destination: DestinationIn  # described by its own schema (a field's words would replace them there)
    currency: Annotated[Currency, said("The currency; PKR only")] = "PKR"
    reference: Annotated[Reference, said("Your reference, unique among your payouts")] | None = None
    description: Annotated[Description, said("Words for the payout, returned as sent")] | None = None
    metadata: Annotated[Metadata, said("Your key-value pairs, returned as sent")] | None = None
    scenario: ScenarioChoice | None = None


class PayoutCancel(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[Reason, said("Why, recorded in the payout's status history")] | None = None


class StatusChange(msgspec.Struct):
    status: Annotated[StatusName, said("The status the payout entered")]
    at: Annotated[str, said("When (RFC 3339, milliseconds), on the merchant's clock")]
    reason: Annotated[str | None, said("Why, in words, where the move has a reason")]


class Payout(msgspec.Struct):
    id: Annotated[str, said("The payout's id (`po_…`)")]
    object: Annotated[Literal["payout"], said("The object's kind")]
    amount: Annotated[str, said("How much, a decimal string in the currency's units")]
    currency: Annotated[str, said("The currency (PKR)")]
    status: Annotated[StatusName, said("Where the payout stands now")]
    # A built-in scenario's name or one of the merchant's own: a string, not an enum.
    scenario: Annotated[str, msgspec.Meta(
        description="The scenario the payout follows (GET /sandbox/scenarios): a built-in one ("
                    + ", ".join(SCENARIO_NAMES) + ") or one of yours", examples=["success"])]
    destination: Destination  # described by its own schema (a field's words would replace them there)
    reference: Annotated[str | None, said("Your reference, as sent")]
    description: Annotated[str | None, said("Your words for the payout, as sent")]
    metadata: Annotated[dict[str, str] | None, said("Your key-value pairs, as sent")]
    attempts: Annotated[int, said("How many times the rail was tried (a retry counts)")]
    failure_code: Annotated[FailureCodeName | None, msgspec.Meta(
        description="Why the payout failed or came back: set on every `failed` or `returned` payout (`rail_rejected`"
                    " or `rail_returned` when the bank gave no reason), null on any other")]
    # The catalogue entry of `failure_code` (ISO 20022 reason, retryable, message); null without one.
    failure: Annotated[Failure | None, said("The catalogue entry of `failure_code`; null without one")]
    psp_reference: Annotated[str | None, said("The rail's reference, set once the payout is submitted to it")]
    status_history: Annotated[list[StatusChange], said("Every status the payout entered, oldest first")]
    created_at: Annotated[str, said("When it was made (RFC 3339, milliseconds), on the merchant's clock")]
    updated_at: Annotated[str, said("When it last changed (RFC 3339, milliseconds), on the merchant's clock")]


class PayoutPage(msgspec.Struct):
    data: Annotated[list[Payout], said("This page's payouts, newest first")]
    has_more: HasMore
    next_cursor: NextCursor


class PayoutReinitiate(msgspec.Struct, forbid_unknown_fields=True):
    """Optionally a corrected destination; the scenario follows the new account number."""

    destination: Annotated[DestinationIn, said("A corrected destination; none: the same one")] | None = None


class SimulateOutcome(msgspec.Struct, forbid_unknown_fields=True):
    status: Annotated[RailOutcome, said("The bank's answer the rail sends to the IPN service")]
    failure_code: Annotated[FailureCodeName,
                            said("Why, for `failed` or `returned` (none: the rail's default)")] | None = None


class SimulateAccepted(msgspec.Struct):
    payout_id: Annotated[str, said("The payout the callback is about")]
    notification_id: Annotated[str, said("The callback's id, as the IPN service receives it")]
    status: Annotated[RailOutcome, said("The answer the callback carries")]
    delivery: Annotated[Literal["queued"], said("The callback is on its way, in real time: poll the payout or wait "
                                                 "for its webhook")]


class ReviewDecision(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[Reason, said("Why, recorded in the payout's status history; left out: \"approved by an "
                                   "admin\", \"rejected by an admin\" or \"released by an admin\"")] | None = None


class VerifyAccountOut(msgspec.Struct):
    valid: Annotated[bool, said("False when the scenario the account picks closes it (`account_closed`) or "
                                "mismatches its title (`incorrect_account_holder_name`); true for any other")]
    account_title: Annotated[str | None, said("The name the account is held in, made up from its number (the "
                                              "same number, the same name); null for a closed account")]
    reason: Annotated[FailureCodeName | None, said("Why it is not valid: `account_closed` or "
                                                   "`incorrect_account_holder_name`; null when valid")]
