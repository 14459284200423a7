"""Test clocks: read the calling merchant's clock, advance a manual one."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.params import JSONBody

from sandbox.auth.keys import MERCHANT_ONLY
from sandbox.clocks.schemas import ClockAdvance, ClockAdvanced, MerchantClock
from sandbox.simulator import clock_advance as clocks


class ClockController(Controller):
    path = "/sandbox/clock"
    tags = ["Sandbox tools"]
    opt = MERCHANT_ONLY

    @get("", operation_id="getTestClock", summary="The merchant's clock")
    async def read(self, request: Request) -> MerchantClock:
        """`manual` for a merchant created with `"clock": "manual"` (its time moves only
        when advanced), else `live` (wall-clock time)."""
        return await clocks.read(request.user.merchant_id)

    @post("/advance", operation_id="advanceTestClock", status_code=200, summary="Advance a manual clock")
    async def advance(self, request: Request, data: JSONBody[ClockAdvance]) -> ClockAdvanced:
        """`{"seconds": N}` moves the clock N seconds; `{"until": "idle"}` moves it from due
        step to due step until none is left (a payout waiting for an operator or the bank
        has none: the clock stops at the last step), no further than `seconds` when both
        are given. Every step that falls due is applied in due order, at its due time, and
        committed before the answer, which lists the status changes. 409 for a merchant
        on a live clock."""
        return await clocks.advance(request.user.merchant_id, data)
