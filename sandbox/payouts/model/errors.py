"""Refusals of the payout domain, raised by its service (each a 409 on the wire)."""

from __future__ import annotations

from sandbox.core.errors import Conflict


class InvalidTransition(Conflict):
    """The payout's current status does not allow the change asked for."""

    def __init__(self, status: str, to_status: str) -> None:
        super().__init__(f"The payout is {status}; it cannot become {to_status}")


class PayoutNotCancelable(Conflict):
    """The bank already has the payout: only its answer ends it now."""

    def __init__(self) -> None:
        super().__init__("The payout was already submitted to the bank; it can no longer be cancelled")


class ReinitiationLimit(Conflict):
    """The payout was reinitiated as often as one payout may be."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"The payout was reinitiated {limit} times already, the most one payout may be;"
                         " create a new payout to try again")
