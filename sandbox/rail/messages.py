"""What the simulated rail says, as data: the reference it gives a payout submitted to it,
and its callback's body. No I/O here, so the scenario planner may make both."""

from __future__ import annotations

import secrets

import msgspec


def new_psp_reference() -> str:
    return "RAIL" + secrets.token_hex(10).upper()


class Notification(msgspec.Struct, omit_defaults=True, frozen=True):
    """The rail's signed callback for a payout: its id names what it reports, so a
    resend is a no-op."""

    psp_reference: str
    notification_id: str
    status: str
    failure_code: str | None = None
