"""Opening a merchant: the merchant row with its key (and test clock), its balance row,
and an opening balance posted through the ledger, in one transaction. The one way a
merchant comes to exist (the admin route, the seed, the benchmarks); it sits above both
the merchants and the ledger, which refers to the merchant."""

from __future__ import annotations

from sandbox import db
from sandbox.core.clock import now
from sandbox.ledger import service as ledger
from sandbox.merchants import service as merchants
from sandbox.merchants.service import NewMerchant
from sandbox.teams import quotas
from sandbox.teams.scope import OPERATOR_TEAM


async def open_merchant(name: str, opening_balance: int = 0, *, merchant_id: str | None = None,
                        api_key: str | None = None, clock: merchants.Clock = "live", team: str = OPERATOR_TEAM,
                        keep: bool = False, made_by: tuple[str, str] | None = None) -> NewMerchant:
    """`team`: the team it belongs to (its merchants quota is checked first: a refusal
    makes nothing); `keep`: spared by retention however long it stays idle; `made_by`: the
    idempotency key (scope, key) of the request that makes it."""
    at = now()
    async with db.transaction():
        await quotas.take_merchant(team)
        merchant = await merchants.insert(name, at, merchant_id=merchant_id, api_key=api_key, clock=clock,
                                          team=team, keep=keep, made_by=made_by)
        await ledger.open_balance(merchant.id, at)
        if opening_balance > 0:
            await ledger.post(merchant.id, "opening_balance", opening_balance, None, at)
    return merchant
