"""A payout as the API, its events and the dashboard show it, made from its row (no
database: what the row holds is what is shown)."""

from __future__ import annotations

import msgspec

from sandbox.core.money import format_amount
from sandbox.core.timestamps import iso
from sandbox.payouts.model import failures
from sandbox.payouts.model.rows import PayoutRow
from sandbox.payouts.model.schemas import Destination, Payout, StatusChange

_decode_history = msgspec.json.Decoder(list[StatusChange])
_decode_destination = msgspec.json.Decoder(Destination)
_decode_metadata = msgspec.json.Decoder(dict[str, str] | None)


def to_api(row: PayoutRow) -> Payout:
    return Payout(
        id=row.id,
        object="payout",
        amount=format_amount(row.amount),
        currency=row.currency,
        status=row.status,
        scenario=row.scenario,
        destination=_decode_destination.decode(row.destination),
        reference=row.reference,
        description=row.description,
        metadata=_decode_metadata.decode(row.metadata) if row.metadata is not None else None,
        attempts=row.attempts,
        failure_code=row.failure_code,
        failure=failures.detail(row.failure_code),
        psp_reference=row.psp_reference,
        status_history=_decode_history.decode(row.status_history),
        created_at=iso(row.created_at),
        updated_at=iso(row.updated_at),
    )
