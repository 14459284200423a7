"""The operator's routes for teams: make one (with its key), list them with their usage,
change a team's quotas. A team key is refused here (403 `forbidden`)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post, put
from litestar.params import JSONBody, PathParameter

from sandbox.auth.keys import OPERATOR_ONLY
from sandbox.teams import service
from sandbox.teams.schemas import NewTeam, Team, TeamIn, TeamList, TeamQuotas

TeamId = Annotated[str, PathParameter(max_length=64)]


class TeamController(Controller):
    path = "/admin/teams"
    tags = ["Admin"]
    opt = OPERATOR_ONLY

    @post("", operation_id="adminCreateTeam", status_code=201, summary="Operator: a team and its key")
    async def create(self, data: JSONBody[TeamIn]) -> NewTeam:
        """The team key (shown only here) does what the admin key does, for the team's own
        merchants only: make them (POST /sandbox/merchants), review their payouts, judge them
        (POST /sandbox/gate), see them in the dashboard. Quotas left out are unbounded."""
        return await service.create(data)

    @get("", operation_id="adminListTeams", summary="Operator: every team with its quotas and usage")
    async def list(self) -> TeamList:
        return await service.every()

    @put("/{team_id:str}/quotas", operation_id="adminSetTeamQuotas", summary="Operator: change a team's quotas")
    async def quotas(self, team_id: TeamId, data: JSONBody[TeamQuotas]) -> Team:
        """Replaces all three (null or left out: no bound); from the next request on. What
        a team has already is kept; only new merchants, payouts and endpoints are refused."""
        return await service.set_quotas(team_id, data)
