"""The payout row as stored, the one shape every layer passes around: the repository reads
and writes it, the planner decides on it, the views show it. It imports nothing, so the
planner may take it without the database."""

from __future__ import annotations

from datetime import datetime

import msgspec


class PayoutRow(msgspec.Struct, kw_only=True):
    """A payout as stored. JSON columns stay JSON text, as the database returns them."""

    id: str
    merchant: str
    amount: int
    currency: str
    status: str
    scenario: str
    destination: str
    reference: str | None
    description: str | None
    metadata: str | None
    attempts: int
    failure_code: str | None
    psp_reference: str | None
    status_history: str
    track: str
    step_index: int
    next_action_at: datetime | None
    created_at: datetime
    updated_at: datetime
    script: str | None = None  # a merchant's own scenario, as the payout follows it (scenarios.Script's JSON)
    number: int | None = None  # assigned by the database on insert
