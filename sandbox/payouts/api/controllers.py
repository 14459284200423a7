from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, get, post
from litestar.params import FromQuery, JSONBody, PathParameter, QueryParameter

from sandbox.auth.keys import MERCHANT_ONLY
from sandbox.core.timestamps import parse_timestamp
from sandbox.core.types import RFC3339
from sandbox.idempotency import in_statement as idempotency
from sandbox.idempotency.paying import MAKES_A_PAYOUT, SENDS_A_PAYOUT_AGAIN
from sandbox.payouts.lifecycle import actions, service
from sandbox.payouts.model import states
from sandbox.payouts.model.schemas import Payout, PayoutCancel, PayoutCreate, PayoutPage, PayoutReinitiate
from sandbox.payouts.model.states import StatusName
from sandbox.teams import quotas

Timestamp = Annotated[str | None, QueryParameter(pattern=RFC3339, format="date-time", max_length=40)]


class PayoutController(Controller):
    path = "/payouts"
    tags = ["Payouts"]
    opt = MERCHANT_ONLY

    @post("", operation_id="createPayout", status_code=201, summary="Create a payout",
          opt={idempotency.IN_STATEMENT: True, **MAKES_A_PAYOUT})
    async def create(self, request: Request, data: JSONBody[PayoutCreate]) -> Payout:
        """Locks the amount from `available`, picks the scenario from the destination's
        last four digits (or the one named in `scenario`: built-in or your own), and starts
        `pending` (or `in_review` at 100,000.00 and above)."""
        claim = idempotency.claim_of(request.scope["state"])
        # The payout counts in its team's payouts of the day: with a bound, taken first (one
        # Redis INCR; refused past it) and given back when no payout was made (a replayed
        # key); without one, counted once made, with the creation's other Redis commands.
        async with quotas.payout_of_the_day(request.user) as taken:
            payout = await service.create(request.user.merchant_id, data, claim,
                                          own_scenarios=request.user.custom_scenarios, on_made=taken.count)
            taken.made = claim is None or claim.outcome == idempotency.KeyClaim.CREATED
        return payout

    @get("", operation_id="listPayouts", summary="List payouts, newest first")
    async def list(
        self,
        request: Request,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
        cursor: Annotated[str | None, QueryParameter(max_length=200)] = None,
        status: FromQuery[StatusName | None] = None,
        created_gte: Timestamp = None,
        created_lte: Timestamp = None,
        reference: Annotated[str | None, QueryParameter(max_length=64)] = None,
    ) -> PayoutPage:
        return await service.list_page(
            request.user.merchant_id, limit=limit, cursor=cursor, status=status,
            created_gte=parse_timestamp("created_gte", created_gte),
            created_lte=parse_timestamp("created_lte", created_lte), reference=reference,
        )

    @get("/{payout_id:str}", operation_id="getPayout", summary="Get a payout")
    async def retrieve(self, request: Request, payout_id: Annotated[str, PathParameter(max_length=64)]) -> Payout:
        return await service.get(payout_id, request.user.merchant_id)

    @post("/{payout_id:str}/cancel", operation_id="cancelPayout", status_code=200, summary="Cancel a payout")
    async def cancel(self, request: Request, payout_id: Annotated[str, PathParameter(max_length=64)],
                     data: JSONBody[PayoutCancel | None] = None) -> Payout:
        """Allowed while `pending` (not yet submitted to the bank), `in_review` or `on_hold`;
        the locked funds go back to `available`."""
        return await actions.cancel(payout_id, request.user.merchant_id, data.reason if data else None)

    @post("/{payout_id:str}/reinitiate", operation_id="reinitiatePayout", status_code=200,
          summary="Try a failed payout again", opt=SENDS_A_PAYOUT_AGAIN,
          description="Only from `failed`: locks the funds again and runs the scenario from the start,"
                      " optionally to a corrected `destination` (whose last four digits pick the scenario)."
                      f" One payout may be reinitiated {states.MAX_REINITIATIONS} times; after that, 409"
                      " `invalid_state` (create a new payout).")
    async def reinitiate(self, request: Request, payout_id: Annotated[str, PathParameter(max_length=64)],
                         data: JSONBody[PayoutReinitiate | None] = None) -> Payout:
        return await actions.reinitiate(payout_id, request.user.merchant_id, data.destination if data else None)
