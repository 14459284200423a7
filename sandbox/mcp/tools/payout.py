"""Payouts down a chosen scenario, what an operator-free integration does to them (cancel,
reinitiate, the bank's callback), the merchant's manual clock, and a payout explained."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from sandbox.clocks.schemas import MAX_ADVANCE_S, ClockAdvanced, MerchantClock
from sandbox.core.types import Reason as ApiReason
from sandbox.core.types import Reference, worded
from sandbox.mcp.bounds import PAGE_DEFAULT, Cursor, Limit, segment
from sandbox.mcp.connection import Sandbox
from sandbox.mcp.tools.arguments import Amount, Handle, IdempotencyKey, PayoutId, api_limits
from sandbox.mcp.tools.explain import MOST_EVENTS, explain
from sandbox.payouts.model.failures import FailureCodeName
from sandbox.payouts.model.scenarios import ScenarioTable
from sandbox.payouts.model.schemas import Payout, PayoutPage, ScenarioChoice, SimulateAccepted
from sandbox.payouts.model.states import RailOutcome, StatusName

ACCOUNT_PREFIX = "1234567890"  # a 14-digit bank account: its last four digits pick the scenario
SUFFIX = worded(r"^[0-9]{4}$", "must be four digits, like 0006")
Reason = Annotated[str | None, Field(description="why, recorded in the payout's status history",
                                     **api_limits(ApiReason))]


def destination(suffix: str) -> dict[str, Any]:
    """The bank account a payout to `suffix` goes to (an account the API takes, whose last
    four digits are a scenario's suffix: tests/mcp/test_schemas_are_the_apis.py)."""
    return {"type": "bank", "bank_code": "HBL", "account_number": ACCOUNT_PREFIX + suffix, "account_title": "Ali Raza"}


def register(app: MCPServer, sandbox: Sandbox) -> None:
    @app.tool()
    async def create_payout(
        ctx: Context,
        scenario: Annotated[str | None, Field(description="the scenario to follow, by name (see the scenarios tool), "
                                                          "e.g. success_then_returned",
                                              **api_limits(ScenarioChoice))] = None,
        account_suffix: Annotated[str | None, Field(
            max_length=4, pattern=SUFFIX,
            description="or: the destination account's last four digits, which pick a scenario the way a real "
                        "integration's test data would (0006); a suffix no scenario has follows the default "
                        "scenario, and the answer says so")] = None,
        amount: Annotated[Amount, Field(description="PKR, greater than 0 and at most 99999999.99; at or above the "
                                                    "review threshold (scenarios: review) it waits in review")
                          ] = "1500.00",
        reference: Annotated[str | None, Field(description="your own unique reference", **api_limits(Reference))
                             ] = None,
        idempotency_key: IdempotencyKey = None,
        merchant: Handle = None,
    ) -> dict[str, Any]:
        """Create a payout (POST /payouts) to a bank account that follows a scenario, chosen by name or by
        the account number's last four digits. Answers the payout as the API does, and which scenario it
        follows."""
        if (scenario is None) == (account_suffix is None):
            raise ToolError("name a scenario or give an account_suffix (one of them; the scenarios tool lists both)")
        table = await sandbox.as_merchant(ctx, merchant, "GET", "/sandbox/scenarios", into=ScenarioTable)
        if scenario is not None:
            found = next((s for s in table.scenarios if s.name == scenario), None)
            if found is None:
                raise ToolError(f"no scenario {scenario!r}; this merchant has: "
                                f"{', '.join(s.name for s in table.scenarios)}")
            suffix = found.suffix or "0000"
            follows = f"scenario {scenario}, by name"
        else:
            suffix = str(account_suffix)
            found = next((s for s in table.scenarios if s.suffix == suffix), None)
            follows = (f"scenario {found.name}, picked by the suffix {suffix}" if found is not None else
                       f"no scenario has the suffix {suffix}: the payout follows the default scenario, "
                       f"{table.default}")
        body: dict[str, Any] = {
            "amount": amount, "currency": "PKR", "reference": reference, "scenario": scenario,
            "destination": destination(suffix)}
        made = await sandbox.as_merchant(ctx, merchant, "POST", "/payouts", status=201, into=Payout,
                                         json={k: v for k, v in body.items() if v is not None},
                                         idempotency_key=idempotency_key)
        return {"payout": msgspec.to_builtins(made), "follows": follows}

    @app.tool()
    async def list_payouts(
        ctx: Context,
        status: Annotated[StatusName | None, Field(description="only payouts with this status")] = None,
        limit: Limit = PAGE_DEFAULT,
        cursor: Cursor = None,
        merchant: Handle = None,
    ) -> dict[str, Any]:
        """The merchant's payouts, newest first, one page at a time (id, status, scenario, amount)."""
        page = await sandbox.as_merchant(ctx, merchant, "GET", "/payouts", into=PayoutPage,
                                         params={"status": status, "limit": limit, "cursor": cursor})
        return {"data": [{"id": p.id, "status": p.status, "scenario": p.scenario, "amount": p.amount,
                          "reference": p.reference, "failure_code": p.failure_code} for p in page.data],
                "has_more": page.has_more, "next_cursor": page.next_cursor}

    @app.tool()
    async def cancel_payout(ctx: Context, payout_id: PayoutId, reason: Reason = None,
                            idempotency_key: IdempotencyKey = None, merchant: Handle = None) -> dict[str, Any]:
        """Cancel a payout (POST /payouts/{id}/cancel): allowed while it is pending (not yet submitted to the
        bank), in_review or on_hold; the locked funds go back to available. Answers the payout."""
        done = await sandbox.as_merchant(ctx, merchant, "POST", f"/payouts/{segment(payout_id)}/cancel",
                                         into=Payout, json={"reason": reason} if reason else None,
                                         idempotency_key=idempotency_key)
        return {"payout": msgspec.to_builtins(done)}

    @app.tool()
    async def reinitiate_payout(
        ctx: Context, payout_id: PayoutId,
        account_suffix: Annotated[str | None, Field(
            max_length=4, pattern=SUFFIX, description="a corrected destination: an account ending in these four "
                                                      "digits (they pick the scenario); none: the same one")] = None,
        idempotency_key: IdempotencyKey = None, merchant: Handle = None,
    ) -> dict[str, Any]:
        """Try a failed payout again (POST /payouts/{id}/reinitiate): only from failed; it locks the funds again
        and runs its scenario from the start, optionally to a corrected destination. Answers the payout."""
        body = None if account_suffix is None else {"destination": destination(account_suffix)}
        done = await sandbox.as_merchant(ctx, merchant, "POST", f"/payouts/{segment(payout_id)}/reinitiate",
                                         into=Payout, json=body, idempotency_key=idempotency_key)
        return {"payout": msgspec.to_builtins(done)}

    @app.tool()
    async def send_bank_callback(
        ctx: Context, payout_id: PayoutId,
        status: Annotated[RailOutcome, Field(
            description="the bank's answer the rail's signed callback (IPN) carries")],
        failure_code: Annotated[FailureCodeName | None, Field(
            description="why, for failed or returned (failure_codes lists them); none: the rail's default")] = None,
        idempotency_key: IdempotencyKey = None, merchant: Handle = None,
    ) -> dict[str, Any]:
        """Send the bank's callback for a payout submitted to the bank (POST /sandbox/payouts/{id}/simulate): the
        rail posts its signed IPN to the sandbox, which moves the payout as a real bank's answer would. What a
        payout waiting for the bank (e.g. scenario awaiting_ipn, suffix 0004) needs. The callback travels in
        real time: read the payout (explain_payout) a moment later."""
        body = {"status": status, "failure_code": failure_code}
        sent = await sandbox.as_merchant(ctx, merchant, "POST", f"/sandbox/payouts/{segment(payout_id)}/simulate",
                                         status=202, into=SimulateAccepted,
                                         json={k: v for k, v in body.items() if v is not None},
                                         idempotency_key=idempotency_key)
        return msgspec.to_builtins(sent)

    @app.tool()
    async def advance_clock(
        ctx: Context,
        seconds: Annotated[float | None, Field(ge=0, le=MAX_ADVANCE_S,
                                               description="move the manual clock this far")] = None,
        until_idle: Annotated[bool, Field(description="apply every step that falls due, until nothing of the "
                                                      "merchant's is due (with seconds: no further)")] = False,
        one_step: Annotated[bool, Field(description="move exactly to the merchant's next due step")] = False,
        idempotency_key: IdempotencyKey = None,
        merchant: Handle = None,
    ) -> dict[str, Any]:
        """Move the merchant's manual clock (one step, N seconds, or until idle). Answers once every step that
        fell due is applied: the clock's new time and each payout's transitions. A live clock refuses."""
        if sum((seconds is not None and not until_idle, until_idle, one_step)) != 1:
            raise ToolError("give how far: one_step, seconds, or until_idle (seconds with until_idle bounds it)")
        acting = sandbox.acting(ctx, merchant)
        key = idempotency_key or ""
        if one_step:
            # The step's distance is computed once for a key: a retry after a lost answer sends the
            # same seconds (the clock has moved since), so the API answers what the first call did.
            body = sandbox.kept_body(acting, key) if key else None
            if body is None:
                clock = await sandbox.as_merchant(ctx, merchant, "GET", "/sandbox/clock", into=MerchantClock)
                if clock.next_step_at is None:
                    return {"moved": False, "says": f"nothing is due on this merchant's {clock.kind} clock",
                            "clock": msgspec.to_builtins(clock)}
                gap = datetime.fromisoformat(clock.next_step_at) - datetime.fromisoformat(clock.time)
                body = {"seconds": max(gap.total_seconds(), 0.0)}
                if key:
                    sandbox.keep_body(acting, key, body)
        else:
            body = {"seconds": seconds, "until": "idle" if until_idle else None}
        done = await sandbox.as_merchant(ctx, merchant, "POST", "/sandbox/clock/advance", into=ClockAdvanced,
                                         json={k: v for k, v in body.items() if v is not None},
                                         idempotency_key=idempotency_key)
        return msgspec.to_builtins(done)

    @app.tool()
    async def explain_payout(ctx: Context, payout_id: PayoutId, merchant: Handle = None) -> dict[str, Any]:
        """Why a payout is where it is: its scenario's path, the statuses it walked (clock times), what happens
        next and when (or what it waits for: an operator, the bank's callback), its events in sequence with what
        caused each, and for a failed or returned payout the reason's code, ISO 20022 reason code and what to
        do. Starts with a one-paragraph summary."""
        payout = await sandbox.as_merchant(ctx, merchant, "GET", f"/payouts/{segment(payout_id)}", into=Payout)
        table = await sandbox.as_merchant(ctx, merchant, "GET", "/sandbox/scenarios", into=ScenarioTable)
        clock = await sandbox.as_merchant(ctx, merchant, "GET", "/sandbox/clock", into=MerchantClock)
        events = await sandbox.as_merchant(ctx, merchant, "GET", "/events", into=dict,
                                           params={"payout_id": payout.id, "limit": MOST_EVENTS})
        scenario = next((s for s in table.scenarios if s.name == payout.scenario), None)
        explained = explain(payout, scenario, clock, events["data"])
        return {"summary": explained.pop("summary"), **explained}
