"""Rolling keys: a team's (the operator's route) and a merchant's (an admin key's; a team
key rolls its team's merchants' only). The rules are rotation/rolling.py's."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, post
from litestar.params import JSONBody, PathParameter

from sandbox.auth.keys import ADMIN_ONLY, OPERATOR_ONLY
from sandbox.rotation import rolling
from sandbox.rotation.rolling import KeyRollIn, RolledKey
from sandbox.teams import scope as teams

OwnerId = Annotated[str, PathParameter(max_length=64)]

_ROLL = ("A new key, shown only in this answer; the old keys keep working for `overlap_minutes`, then are "
         "refused everywhere (401, as an unknown key). `overlap_minutes: 0` revokes them at once: refused by "
         "every API process from this answer on.")


class TeamKeyController(Controller):
    path = "/admin/teams/{team_id:str}/keys"
    tags = ["Admin"]
    opt = OPERATOR_ONLY

    @post("/roll", operation_id="adminRollTeamKey", status_code=201, summary="Operator: roll (or revoke) a team's key",
          description=_ROLL)
    async def roll(self, team_id: OwnerId, data: JSONBody[KeyRollIn]) -> RolledKey:
        return await rolling.roll_team_keys(team_id, data)


class MerchantKeyController(Controller):
    path = "/admin/merchants/{merchant_id:str}/keys"
    tags = ["Admin"]
    opt = ADMIN_ONLY

    @post("/roll", operation_id="adminRollMerchantKey", status_code=201,
          summary="Roll (or revoke) a merchant's key", description=_ROLL)
    async def roll(self, request: Request, merchant_id: OwnerId, data: JSONBody[KeyRollIn]) -> RolledKey:
        return await rolling.roll_merchant_keys(merchant_id, data, teams.of(request.user))
