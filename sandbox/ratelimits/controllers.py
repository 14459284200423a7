from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, delete, get, put
from litestar.params import JSONBody, PathParameter

from sandbox.auth.keys import ADMIN_ONLY
from sandbox.ratelimits import service
from sandbox.ratelimits.schemas import RateLimitIn, RateLimitOut
from sandbox.teams import scope as teams

MerchantId = Annotated[str, PathParameter(max_length=64)]


class RateLimitController(Controller):
    path = "/admin/merchants/{merchant_id:str}/rate-limit"
    tags = ["Admin"]
    opt = ADMIN_ONLY

    @get("", operation_id="adminGetRateLimit", summary="A merchant's request limit")
    async def read(self, request: Request, merchant_id: MerchantId) -> RateLimitOut:
        return await service.get(merchant_id, teams.of(request.user))

    @put("", operation_id="adminSetRateLimit", summary="Override a merchant's request limit")
    async def set(self, request: Request, merchant_id: MerchantId, data: JSONBody[RateLimitIn]) -> RateLimitOut:
        """Each of the merchant's API keys may then make this many requests per minute
        (e.g. 5, to emulate a strict vendor); applies from the next request on. A team key
        may set at most the operator's ceiling (`team_ceiling_per_minute`; 422
        `above_ceiling` past it)."""
        return await service.set_limit(merchant_id, data.requests_per_minute, teams.of(request.user))

    @delete("", operation_id="adminResetRateLimit", status_code=200, summary="Back to the default limit")
    async def reset(self, request: Request, merchant_id: MerchantId) -> RateLimitOut:
        return await service.set_limit(merchant_id, None, teams.of(request.user))
