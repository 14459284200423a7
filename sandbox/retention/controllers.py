"""The admin's routes of retention: the dry run, and marking a merchant to keep. A team key
sees and marks its team's merchants only."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, get, put
from litestar.params import JSONBody, PathParameter, QueryParameter

from sandbox import db
from sandbox.auth import cache as auth_cache
from sandbox.auth.keys import ADMIN_ONLY
from sandbox.core.errors import NotFound
from sandbox.retention.dry_run import listed
from sandbox.retention.schemas import KeepIn, KeepOut, RetentionDryRun
from sandbox.teams import scope as teams


class RetentionController(Controller):
    path = "/admin"
    tags = ["Admin"]
    opt = ADMIN_ONLY

    @get("/retention", operation_id="adminRetentionDryRun", summary="The merchants retention would remove")
    async def dry_run(self, request: Request,
                      limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100) -> RetentionDryRun:
        """A dry run: the merchants idle longer than SANDBOX_RETENTION_DAYS and not marked to
        keep, longest idle first, which is the order the worker removes them in, each with
        the rows (by table) and Redis keys its removal would take: the counts the worker's
        pass logs. Nothing is removed. With retention off (0 days) the list is empty."""
        return await listed(limit, teams.of(request.user))

    @put("/merchants/{merchant_id:str}/keep", operation_id="adminKeepMerchant",
         summary="Mark a merchant to keep (or not) through retention")
    async def keep(self, request: Request, merchant_id: Annotated[str, PathParameter(max_length=64)],
                   data: JSONBody[KeepIn]) -> KeepOut:
        found = await db.fetchval(
            "UPDATE merchant SET keep = $2 WHERE id = $1 AND ($3::varchar IS NULL OR team = $3) RETURNING id",
            merchant_id, data.keep, teams.of(request.user))
        if found is None:
            raise NotFound(f"No merchant {merchant_id}")
        await db.after_commit(auth_cache.forget_all)  # a merchant row changed: as the trigger tells
        return KeepOut(merchant_id=merchant_id, keep=data.keep)
