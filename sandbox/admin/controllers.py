from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, get, post
from litestar.params import FromQuery, JSONBody, PathParameter, QueryParameter

from sandbox.admin import service
from sandbox.admin.schemas import AdminPayoutPage, PayoutRequests
from sandbox.auth.keys import ADMIN_ONLY
from sandbox.core.timestamps import parse_timestamp
from sandbox.payouts.api.controllers import Timestamp
from sandbox.payouts.lifecycle import actions
from sandbox.payouts.model.schemas import Payout, ReviewDecision
from sandbox.payouts.model.states import StatusName
from sandbox.teams import scope as teams

PayoutId = Annotated[str, PathParameter(max_length=64)]


class AdminPayoutController(Controller):
    path = "/admin/payouts"
    tags = ["Admin"]
    opt = ADMIN_ONLY

    @get("", operation_id="adminListPayouts", summary="Payouts of every merchant")
    async def list(
        self,
        request: Request,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
        cursor: Annotated[str | None, QueryParameter(max_length=200)] = None,
        status: FromQuery[StatusName | None] = None,
        merchant_id: Annotated[str | None, QueryParameter(max_length=64)] = None,
        created_gte: Timestamp = None,
        created_lte: Timestamp = None,
    ) -> AdminPayoutPage:
        """A team key sees its team's merchants' payouts only."""
        return await service.list_payouts(limit=limit, cursor=cursor, status=status, merchant_id=merchant_id,
                                          created_gte=parse_timestamp("created_gte", created_gte),
                                          created_lte=parse_timestamp("created_lte", created_lte),
                                          team=teams.of(request.user))

    @get("/requests", operation_id="adminPayoutRequests", summary="Requested and in-flight totals per merchant")
    async def requests(self, request: Request) -> PayoutRequests:
        return await service.payout_requests(teams.of(request.user))

    @post("/{payout_id:str}/approve", operation_id="adminApprovePayout", status_code=200,
          summary="Approve a payout in review")
    async def approve(self, request: Request, payout_id: PayoutId,
                      data: JSONBody[ReviewDecision | None] = None) -> Payout:
        """`in_review` → `pending`; the account number's scenario runs from there."""
        return await actions.approve(payout_id, data.reason if data else None, teams.of(request.user))

    @post("/{payout_id:str}/reject", operation_id="adminRejectPayout", status_code=200,
          summary="Reject a payout in review or on hold")
    async def reject(self, request: Request, payout_id: PayoutId,
                      data: JSONBody[ReviewDecision | None] = None) -> Payout:
        """`in_review` or `on_hold` → `rejected`; the locked funds go back to available."""
        return await actions.reject(payout_id, data.reason if data else None, teams.of(request.user))

    @post("/{payout_id:str}/release", operation_id="adminReleasePayout", status_code=200,
          summary="Release a payout on hold")
    async def release(self, request: Request, payout_id: PayoutId,
                      data: JSONBody[ReviewDecision | None] = None) -> Payout:
        """`on_hold` → `processing` at once, then on to `success`."""
        return await actions.release(payout_id, data.reason if data else None, teams.of(request.user))
