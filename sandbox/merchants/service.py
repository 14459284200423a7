"""Merchants and their keys. A new merchant gets a balance row, a merchant key (shown
once) and, optionally, an opening balance posted through the ledger."""

from __future__ import annotations

from dataclasses import dataclass

from sandbox import db
from sandbox.clocks import store as clocks
from sandbox.core import auth
from sandbox.core.clock import now
from sandbox.core.ids import new_id
from sandbox.ledger import service as ledger


@dataclass(frozen=True)
class NewMerchant:
    id: str
    name: str
    api_key: str
    clock: str = "live"


async def create(name: str, opening_balance: int = 0, *, merchant_id: str | None = None,
                 api_key: str | None = None, clock: str = "live") -> NewMerchant:
    """Create a merchant (with a given id and key when seeding documented demo data).
    `clock="manual"`: the merchant lives on a test clock frozen at its creation time,
    which moves only when the merchant advances it."""
    merchant_id = merchant_id or new_id("mch")
    api_key = api_key or auth.generate_key("merchant")
    at = now()
    async with db.transaction():
        await db.execute(
            "INSERT INTO merchant (id, name, rate_limit_per_minute, created_at) VALUES ($1, $2, NULL, $3)",
            merchant_id,
            name,
            at,
        )
        await ledger.open_balance(merchant_id, at)
        await auth.store_key(api_key, "merchant", merchant_id, new_id("key"))
        if clock == "manual":
            await clocks.create(merchant_id, at)
        if opening_balance > 0:
            await ledger.post(merchant_id, "opening_balance", opening_balance, None, at)
    return NewMerchant(id=merchant_id, name=name, api_key=api_key, clock=clock)


async def exists(merchant_id: str) -> bool:
    return bool(await db.fetchval("SELECT 1 FROM merchant WHERE id = $1", merchant_id))
