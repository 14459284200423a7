"""Reading a merchant's own scenarios (made through sandbox/scenarios/, which owns their
table) for the payouts that pick one: POST /payouts, a batch's rows, a reinitiation to a
corrected destination. Every query names the merchant: one merchant's scenarios never
reach another's payouts."""

from __future__ import annotations

import msgspec

from sandbox import db
from sandbox.payouts.model.scenarios import Scenario

_decode = msgspec.json.Decoder(Scenario)


async def of_merchant(merchant_id: str) -> list[Scenario]:
    """The merchant's own scenarios, oldest first."""
    rows = await db.fetch("SELECT body FROM merchant_scenario WHERE merchant = $1 ORDER BY number", merchant_id)
    return [_decode.decode(r["body"]) for r in rows]
