"""Whose merchants a key may see: the one rule every admin surface asks (API routes, the
gate's verdict, the dashboard). A team key sees its team's merchants; the operator's key
sees every team's. Another team's merchant is answered exactly as a missing one (404
`not_found`, the same words), so a probe learns nothing of what other teams have."""

from __future__ import annotations

from sandbox import db
from sandbox.auth.principal import Principal
from sandbox.core.errors import NotFound

# The operator's own team: the merchants the operator's key makes, and every merchant that
# existed before teams did (migration 2026-11-28T00:40).
OPERATOR_TEAM = "team_operator"


def of(principal: Principal) -> str | None:
    """The team whose merchants the key may act on; None for the operator (every team)."""
    return None if principal.operator else principal.team_id


def home(principal: Principal) -> str:
    """The team a merchant the key makes belongs to."""
    return principal.team_id or OPERATOR_TEAM


async def visible(merchant_ids: list[str], team: str | None) -> set[str]:
    """Those of `merchant_ids` that exist and, with a team, belong to it."""
    rows = await db.fetch("SELECT id FROM merchant WHERE id = ANY($1::text[]) AND ($2::varchar IS NULL OR team = $2)",
                          merchant_ids, team)
    return {r["id"] for r in rows}


async def require(merchant_id: str, team: str | None) -> None:
    """NotFound unless the merchant exists and (with a team) is the team's."""
    if not await visible([merchant_id], team):
        raise NotFound(f"No merchant {merchant_id}")
