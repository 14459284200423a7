"""Merchants and their keys: the merchant row, its merchant key (shown once) and, for a
test-clock merchant, its clock. Opening a merchant with its balance is
`sandbox.onboarding.open_merchant`, which also calls the ledger (the ledger's tables
refer to the merchant, so this package does not import the ledger)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sandbox import db
from sandbox.auth import keys as auth
from sandbox.clocks import store as clocks
from sandbox.core.ids import new_id
from sandbox.teams.scope import OPERATOR_TEAM

Clock = Literal["live", "manual"]


@dataclass(frozen=True)
class NewMerchant:
    id: str
    name: str
    api_key: str
    clock: Clock = "live"


async def insert(name: str, at: datetime, *, merchant_id: str | None = None, api_key: str | None = None,
                 clock: Clock = "live", team: str = OPERATOR_TEAM, keep: bool = False,
                 made_by: tuple[str, str] | None = None) -> NewMerchant:
    """The merchant row (of `team`), its key and (for `clock="manual"`: a test clock frozen at `at`,
    which moves only when the merchant advances it) its clock, in the caller's
    transaction. A given id and key are for seeding documented demo data. `made_by`: the
    idempotency key (scope, key) of the request that makes it, for retention."""
    merchant_id = merchant_id or new_id("mch")
    api_key = api_key or auth.generate_key("merchant")
    await db.execute(
        "INSERT INTO merchant (id, name, rate_limit_per_minute, created_at, team, keep, made_by_scope, made_by_key)"
        " VALUES ($1, $2, NULL, $3, $4, $5, $6, $7)",
        merchant_id,
        name,
        at,
        team,
        keep,
        *(made_by or (None, None)),
    )
    # Its idle time (sandbox/retention/) starts now, in real time whatever its clock.
    await db.execute("INSERT INTO merchant_activity (merchant, at) VALUES ($1, now())", merchant_id)
    await auth.store_key(api_key, "merchant", merchant_id, new_id("key"))
    if clock == "manual":
        await clocks.create(merchant_id, at)
    return NewMerchant(id=merchant_id, name=name, api_key=api_key, clock=clock)


async def exists(merchant_id: str) -> bool:
    return bool(await db.fetchval("SELECT 1 FROM merchant WHERE id = $1", merchant_id))
