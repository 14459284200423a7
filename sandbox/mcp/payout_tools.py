"""Payouts down a chosen scenario, the merchant's manual clock, and a payout explained."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from sandbox.clocks.schemas import MAX_ADVANCE_S, ClockAdvanced, MerchantClock
from sandbox.mcp.bounds import PAGE_DEFAULT, Cursor, Limit, fit, segment
from sandbox.mcp.connection import Sandbox
from sandbox.mcp.explain import MOST_EVENTS, explain
from sandbox.payouts.model.scenarios import ScenarioTable
from sandbox.payouts.model.schemas import Payout, PayoutPage

ACCOUNT_PREFIX = "1234567890"  # a 14-digit bank account: its last four digits pick the scenario
ID = r"^[A-Za-z0-9_]{1,64}$"
PayoutId = Annotated[str, Field(pattern=ID, description="the payout's id (po_…)")]


def register(app: MCPServer, sandbox: Sandbox) -> None:
    @app.tool()
    async def create_payout(
        ctx: Context,
        scenario: Annotated[str | None, Field(
            pattern=r"^[a-z][a-z0-9_]{0,39}$",
            description="the scenario to follow, by name (see the scenarios tool), e.g. success_then_returned")] = None,
        account_suffix: Annotated[str | None, Field(
            pattern=r"^\d{4}$", description="or: the destination account's last four digits, which pick a "
                                            "scenario the way a real integration's test data would (0006)")] = None,
        amount: Annotated[str, Field(pattern=r"^\d{1,12}(\.\d{1,2})?$",
                                     description="PKR; 100000.00 or more waits in review")] = "1500.00",
        reference: Annotated[str | None, Field(max_length=64, description="your own unique reference")] = None,
        idempotency_key: Annotated[str | None, Field(
            min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$",
            description="the key of an earlier call whose answer was lost (its error names it): the API answers "
                        "the payout it made then, not a second one; none: a fresh key")] = None,
    ) -> dict[str, Any]:
        """Create a payout (POST /payouts) to a bank account that follows a scenario, chosen by name or by
        the account number's last four digits. Answers the payout as the API does."""
        if (scenario is None) == (account_suffix is None):
            raise ToolError("name a scenario or give an account_suffix (one of them; the scenarios tool lists both)")
        suffix = account_suffix
        if scenario is not None:
            table = await sandbox.as_merchant(ctx, "GET", "/sandbox/scenarios", into=ScenarioTable)
            found = next((s for s in table.scenarios if s.name == scenario), None)
            if found is None:
                raise ToolError(f"no scenario {scenario!r}; this merchant has: "
                                f"{', '.join(s.name for s in table.scenarios)}")
            suffix = found.suffix or "0000"
        body: dict[str, Any] = {
            "amount": amount, "currency": "PKR", "reference": reference, "scenario": scenario,
            "destination": {"type": "bank", "bank_code": "HBL", "account_number": ACCOUNT_PREFIX + str(suffix),
                            "account_title": "Ali Raza"}}
        made = await sandbox.as_merchant(ctx, "POST", "/payouts", status=201, into=Payout,
                                         json={k: v for k, v in body.items() if v is not None},
                                         idempotency_key=idempotency_key)
        return fit({"payout": msgspec.to_builtins(made)})

    @app.tool()
    async def list_payouts(
        ctx: Context,
        status: Annotated[str | None, Field(pattern=r"^[a-z_]{1,20}$", description="only this status")] = None,
        limit: Limit = PAGE_DEFAULT,
        cursor: Cursor = None,
    ) -> dict[str, Any]:
        """The merchant's payouts, newest first, one page at a time (id, status, scenario, amount)."""
        page = await sandbox.as_merchant(ctx, "GET", "/payouts", into=PayoutPage,
                                         params={"status": status, "limit": limit, "cursor": cursor})
        return fit({"data": [{"id": p.id, "status": p.status, "scenario": p.scenario, "amount": p.amount,
                              "reference": p.reference, "failure_code": p.failure_code} for p in page.data],
                    "has_more": page.has_more, "next_cursor": page.next_cursor})

    @app.tool()
    async def advance_clock(
        ctx: Context,
        seconds: Annotated[float | None, Field(ge=0, le=MAX_ADVANCE_S,
                                               description="move the manual clock this far")] = None,
        until_idle: Annotated[bool, Field(description="apply every step that falls due, until nothing of the "
                                                      "merchant's is due (with seconds: no further)")] = False,
        one_step: Annotated[bool, Field(description="move exactly to the merchant's next due step")] = False,
    ) -> dict[str, Any]:
        """Move the merchant's manual clock (one step, N seconds, or until idle). Answers once every step that
        fell due is applied: the clock's new time and each payout's transitions. A live clock refuses."""
        if sum((seconds is not None and not until_idle, until_idle, one_step)) != 1:
            raise ToolError("say how far: one_step, seconds, or until_idle (seconds with until_idle bounds it)")
        if one_step:
            clock = await sandbox.as_merchant(ctx, "GET", "/sandbox/clock", into=MerchantClock)
            if clock.next_step_at is None:
                return {"moved": False, "says": f"nothing is due on this merchant's {clock.kind} clock",
                        "clock": msgspec.to_builtins(clock)}
            gap = datetime.fromisoformat(clock.next_step_at) - datetime.fromisoformat(clock.time)
            body: dict[str, Any] = {"seconds": max(gap.total_seconds(), 0.0)}
        else:
            body = {"seconds": seconds, "until": "idle" if until_idle else None}
        done = await sandbox.as_merchant(ctx, "POST", "/sandbox/clock/advance", into=ClockAdvanced,
                                         json={k: v for k, v in body.items() if v is not None})
        return fit(msgspec.to_builtins(done))

    @app.tool()
    async def explain_payout(ctx: Context, payout_id: PayoutId) -> dict[str, Any]:
        """Why a payout is where it is: its scenario's path, the statuses it walked (clock times), what happens
        next and when, its events in sequence with what caused each, and for a failed or returned payout the
        reason's code, ISO 20022 reason code and what to do. Starts with a one-paragraph summary."""
        payout = await sandbox.as_merchant(ctx, "GET", f"/payouts/{segment(payout_id)}", into=Payout)
        table = await sandbox.as_merchant(ctx, "GET", "/sandbox/scenarios", into=ScenarioTable)
        clock = await sandbox.as_merchant(ctx, "GET", "/sandbox/clock", into=MerchantClock)
        events = await sandbox.as_merchant(ctx, "GET", "/events", into=dict,
                                           params={"payout_id": payout.id, "limit": MOST_EVENTS})
        scenario = next((s for s in table.scenarios if s.name == payout.scenario), None)
        explained = explain(payout, scenario, clock, events["data"])
        return fit({"summary": explained.pop("summary"), **explained})
