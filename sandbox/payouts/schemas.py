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
from sandbox.payouts.states import RailOutcome


class DestinationIn(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """A bank account (`bank_code` + `account_number`, or a PK `iban`) or a mobile wallet
    (`wallet_code` + `account_number` 03XXXXXXXXX). The last four digits pick the scenario."""

    type: Literal["bank", "wallet"]
    bank_code: Code | None = None
    account_number: Digits | None = None
    iban: Iban | None = None
    wallet_code: Code | None = None
    account_title: Title | None = None


class Destination(msgspec.Struct, omit_defaults=True):
    type: str
    bank_code: str | None = None
    account_number: str | None = None
    iban: str | None = None
    wallet_code: str | None = None
    account_title: str | None = None


class PayoutCreate(msgspec.Struct, forbid_unknown_fields=True):
    amount: Amount
    destination: DestinationIn
    currency: Currency = "PKR"
    reference: Reference | None = None
    description: Description | None = None
    metadata: Metadata | None = None


class PayoutCancel(msgspec.Struct, forbid_unknown_fields=True):
    reason: Reason | None = None


class StatusChange(msgspec.Struct):
    status: str
    at: str
    reason: str | None


class Payout(msgspec.Struct):
    id: str
    object: Literal["payout"]
    amount: str
    currency: str
    status: str
    scenario: str
    destination: Destination
    reference: str | None
    description: str | None
    metadata: dict[str, str] | None
    attempts: int
    failure_code: str | None
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
    failure_code: Annotated[str, msgspec.Meta(min_length=1, max_length=40, pattern=whole("[a-z0-9_]+"))] | None = None


class SimulateAccepted(msgspec.Struct):
    payout_id: str
    notification_id: str
    status: str
    delivery: Literal["queued"]


class ReviewDecision(msgspec.Struct, forbid_unknown_fields=True):
    reason: Reason | None = None
