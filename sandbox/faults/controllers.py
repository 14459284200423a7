from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, delete, get, post
from litestar.params import JSONBody, PathParameter, QueryParameter

from sandbox.auth.keys import MERCHANT_ONLY
from sandbox.faults import store
from sandbox.faults.schemas import FaultRule, FaultRuleCreate, FaultRuleList

Limit = Annotated[int, QueryParameter(ge=1, le=100)]
Cursor = Annotated[str | None, QueryParameter(max_length=200)]


class FaultRuleController(Controller):
    path = "/sandbox/faults"
    tags = ["Sandbox tools"]
    opt = MERCHANT_ONLY

    @post("", operation_id="createFaultRule", status_code=201, summary="Make the next matching requests fail")
    async def create(self, request: Request, data: JSONBody[FaultRuleCreate]) -> FaultRule:
        """The merchant's next `times` requests matching `method` and `path` get `fault`:
        before anything happens `unavailable` (503 + Retry-After), `rate_limited` (429 +
        Retry-After) or `slow` (the true answer after `delay_s`); after the effect is
        committed `response_lost` (the connection closes with no response), `timeout` (the
        true answer held `delay_s`) or `error_after_commit` (a 500 instead of the true
        answer). A retry with the same idempotency key gets the true answer, with
        `Idempotent-Replayed: true`. The header `X-Sandbox-Fault: KIND` does the same for one request.
        A merchant has at most SANDBOX_FAULT_RULES_MAX (100) rules with uses left (409 beyond).
        No fault strikes the fault controls, the request log, coverage, the receiver audit or the
        verdict (`POST /sandbox/gate`)."""
        return await store.create(request.user.merchant_id, data)

    @get("", operation_id="listFaultRules", summary="The merchant's fault rules, spent ones too")
    async def list(self, request: Request, limit: Limit = 20, cursor: Cursor = None) -> FaultRuleList:
        """Oldest first, the order they are taken in; cursor-paginated like every list."""
        return await store.list_page(request.user.merchant_id, limit, cursor)

    @delete("/{rule_id:str}", operation_id="deleteFaultRule", status_code=204, summary="Delete a fault rule")
    async def remove(self, request: Request, rule_id: Annotated[str, PathParameter(max_length=64)]) -> None:
        await store.delete(request.user.merchant_id, rule_id)
