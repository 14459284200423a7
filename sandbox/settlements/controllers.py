from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, Response, get, post
from litestar.params import JSONBody, PathParameter, QueryParameter

from sandbox.auth.keys import MERCHANT_ONLY
from sandbox.settlements import collections, report, service
from sandbox.settlements.schemas import Collection, CollectionIn, Settlement, SettlementPage

ObjectId = Annotated[str, PathParameter(max_length=64)]


class CollectionController(Controller):
    path = "/sandbox/collections"
    tags = ["Sandbox tools"]
    opt = MERCHANT_ONLY

    @post("", operation_id="createCollection", status_code=201, summary="Receive funds into pending")
    async def create(self, request: Request, data: JSONBody[CollectionIn]) -> Collection:
        """Credits `pending` at once. After the settlement interval (× time scale) a
        settlement run moves an `approve` collection to `available` and drops a `decline`."""
        return await collections.create(request.user.merchant_id, data)

    @get("/{collection_id:str}", operation_id="getCollection", summary="Get a collection")
    async def retrieve(self, request: Request, collection_id: ObjectId) -> Collection:
        return await collections.get(collection_id, request.user.merchant_id)


class SettlementController(Controller):
    path = "/settlements"
    tags = ["Settlements"]
    opt = MERCHANT_ONLY

    @get("", operation_id="listSettlements", summary="Settlement runs, newest first")
    async def list(self, request: Request, limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
                   cursor: Annotated[str | None, QueryParameter(max_length=200)] = None) -> SettlementPage:
        return await service.list_page(request.user.merchant_id, limit=limit, cursor=cursor)

    @get("/{settlement_id:str}", operation_id="getSettlement", summary="Get a settlement run")
    async def retrieve(self, request: Request, settlement_id: ObjectId) -> Settlement:
        return await service.get(settlement_id, request.user.merchant_id)

    @get("/{settlement_id:str}/report.csv", operation_id="getSettlementReport", media_type="text/csv",
         summary="Reconciliation CSV of a settlement run")
    async def report(self, request: Request, settlement_id: ObjectId) -> Response[str]:
        """One line per ledger entry of the run (`line_type` entry), then one `total` line
        per bucket, equal to the run's change of that bucket. Text cells starting with
        = + - @ are prefixed with `'`."""
        run, entries = await service.report_entries(settlement_id, request.user.merchant_id)
        return Response(report.render(run, entries), media_type="text/csv",  # Litestar adds the charset
                        headers={"Content-Disposition": f'attachment; filename="{settlement_id}.csv"'})
