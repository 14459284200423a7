"""Making teams and their keys, changing their quotas, and reading their usage (the
operator's routes and /metrics)."""

from __future__ import annotations

import asyncpg

from sandbox import db
from sandbox.auth import cache as auth_cache
from sandbox.auth import keys
from sandbox.core.errors import NotFound
from sandbox.core.ids import new_id
from sandbox.core.timestamps import iso
from sandbox.teams import quotas
from sandbox.teams.schemas import NewTeam, Team, TeamIn, TeamList, TeamQuotas, TeamUsage

MAX_TEAMS_LISTED = 1_000

_USAGE_SQL = """
SELECT t.id, t.name, t.max_merchants, t.max_payouts_per_day, t.max_webhook_endpoints, t.created_at,
       (SELECT count(*) FROM merchant m WHERE m.team = t.id) AS merchants,
       (SELECT count(*) FROM webhook_endpoint e JOIN merchant m ON m.id = e.merchant
         WHERE m.team = t.id AND e.deleted_at IS NULL) AS webhook_endpoints
  FROM team t
 WHERE ($1::varchar IS NULL OR t.id = $1)
 ORDER BY t.id <> 'team_operator', t.created_at, t.id
 LIMIT $2"""


async def usage(team_id: str | None = None, limit: int = MAX_TEAMS_LISTED) -> list[Team]:
    """Every team (or the one named) with its quotas and usage."""
    rows = await db.fetch(_USAGE_SQL, team_id, limit)
    today = await quotas.payouts_today([r["id"] for r in rows])
    return [_team(r, today.get(r["id"], 0)) for r in rows]


def _team(row: asyncpg.Record, payouts_today: int) -> Team:
    return Team(id=row["id"], name=row["name"],
                quotas=TeamQuotas(max_merchants=row["max_merchants"], max_payouts_per_day=row["max_payouts_per_day"],
                                  max_webhook_endpoints=row["max_webhook_endpoints"]),
                usage=TeamUsage(merchants=row["merchants"], payouts_today=payouts_today,
                                webhook_endpoints=row["webhook_endpoints"]),
                created_at=iso(row["created_at"]))


async def create(body: TeamIn) -> NewTeam:
    """A team with its quotas and its first key (an admin key for the team only)."""
    team_id = new_id("team")
    api_key = keys.generate_key("admin")
    async with db.transaction():
        await db.execute(
            "INSERT INTO team (id, name, max_merchants, max_payouts_per_day, max_webhook_endpoints, created_at)"
            " VALUES ($1, $2, $3, $4, $5, now())",
            team_id, body.name, body.max_merchants, body.max_payouts_per_day, body.max_webhook_endpoints)
        await keys.store_key(api_key, "admin", None, new_id("key"), team_id)
    (team,) = await usage(team_id)
    return NewTeam(team=team, api_key=api_key)


async def set_quotas(team_id: str, body: TeamQuotas) -> Team:
    """Replace the team's quotas (null: no bound); they apply from the next request on."""
    found = await db.fetchval(
        "UPDATE team SET max_merchants = $2, max_payouts_per_day = $3, max_webhook_endpoints = $4"
        " WHERE id = $1 RETURNING id",
        team_id, body.max_merchants, body.max_payouts_per_day, body.max_webhook_endpoints)
    if found is None:
        raise NotFound(f"No team {team_id}")
    # The payout quota travels with the team's keys: remembered keys must be read again.
    await db.after_commit(auth_cache.forget_all)
    (team,) = await usage(team_id)
    return team


async def every() -> TeamList:
    return TeamList(data=await usage())
