"""What the simulated rail says, as data: the reference it gives a payout submitted to it,
and its callback's body. No I/O here, so the scenario planner may make both."""

from __future__ import annotations

import msgspec

from sandbox.core.ids import ordered_hex


def new_psp_reference() -> str:
    """`RAIL` and 24 hex digits, ordered by time as object ids are (sandbox/core/ids.py): a
    payout's reference is set at its step, and the unique index on it then takes each
    new one at its right-hand end, not on any of its pages."""
    return "RAIL" + ordered_hex().upper()


class Notification(msgspec.Struct, omit_defaults=True, frozen=True):
    """The rail's signed callback for a payout: its id names what it reports, so a
    resend is a no-op."""

    psp_reference: str
    notification_id: str
    status: str
    failure_code: str | None = None
