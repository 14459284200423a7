"""Test clocks: read the calling merchant's clock, advance a manual one."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.params import JSONBody

from sandbox.auth.keys import merchant_only
from sandbox.clocks import store
from sandbox.clocks.schemas import ClockAdvance, ClockAdvanced, MerchantClock
from sandbox.core.errors import Conflict, reads, writes
from sandbox.simulator import clock_advance as clocks


class ClockController(Controller):
    path = "/sandbox/clock"
    tags = ["Sandbox tools"]
    guards = [merchant_only]

    @get("", operation_id="getTestClock", summary="The merchant's clock", responses=reads())
    async def read(self, request: Request) -> MerchantClock:
        """`manual` for a merchant created with `"clock": "manual"` (its time moves only
        when advanced), else `live` (wall-clock time)."""
        return await clocks.read(request.user.merchant_id)

    @post("/advance", operation_id="advanceTestClock", status_code=200, summary="Advance a manual clock",
          responses=writes(Conflict))
    async def advance(self, request: Request, data: JSONBody[ClockAdvance]) -> ClockAdvanced:
        """`{"seconds": N}` moves the clock N seconds; `{"until": "idle"}` moves it from due
        step to due step until none is left (a payout waiting for an operator or the bank
        has none: the clock stops at the last step), no further than `seconds` when both
        are given. Every step that falls due is applied in due order, at its due time, and
        committed before the answer, which lists the status changes. 409 for a merchant
        on a live clock."""
        return await clocks.advance(request.user.merchant_id, data)


async def follow_the_callers_clock(request: Request) -> None:
    """Every request of a merchant on a manual clock works at its clock's time (the
    payouts it creates or cancels, its top-ups, its webhook endpoints): the router runs
    this before each handler."""
    if request.user.merchant_id is not None:
        await store.follow(request.user.merchant_id)
