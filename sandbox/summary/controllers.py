from __future__ import annotations

from litestar import Controller, Request, get

from sandbox.auth.keys import MERCHANT_ONLY
from sandbox.summary import service
from sandbox.summary.schemas import BalanceSummary


class BalanceSummaryController(Controller):
    path = "/balance/summary"
    tags = ["Balance"]
    opt = MERCHANT_ONLY

    @get("", operation_id="getBalanceSummary", summary="Balance and lifetime totals by kind")
    async def summary(self, request: Request) -> BalanceSummary:
        """Cached for up to 120 s and dropped the moment the balance changes, so it is
        never stale; `computed_at` says when the figures were read."""
        return await service.summary(request.user.merchant_id)
