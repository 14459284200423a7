"""Who the server acts as, a fresh merchant, and the sandbox's catalogues (scenarios,
failure codes): what an agent reads before it makes a payout."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

import msgspec
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from sandbox.clocks.schemas import MerchantClock
from sandbox.mcp.bounds import fit
from sandbox.mcp.connection import Merchant, Sandbox
from sandbox.payouts.model.failures import Failure
from sandbox.payouts.model.scenarios import ScenarioTable
from sandbox.simulator.schemas import NewMerchantOut

OPENING_BALANCE = "1000000.00"


def register(app: MCPServer, sandbox: Sandbox) -> None:
    @app.tool()
    async def whoami(ctx: Context) -> dict[str, Any]:
        """Which sandbox this server talks to and as whom: started with a merchant's key it acts as that
        merchant only; started with the admin key it makes fresh merchants (new_merchant) and acts as the
        latest one of this session. Also that merchant's clock (manual or live) and its time."""
        merchant = sandbox.merchant(ctx)
        answer: dict[str, Any] = {"sandbox": sandbox.url, "mode": sandbox.mode, "says": sandbox.says_who(),
                                  "merchant": None}
        if merchant is not None:
            clock = await sandbox.call(merchant.key, "GET", "/sandbox/clock", into=MerchantClock)
            answer["merchant"] = {"id": merchant.id, "clock": msgspec.to_builtins(clock)}
        return answer

    @app.tool()
    async def new_merchant(
        ctx: Context,
        clock: Annotated[Literal["manual", "live"], Field(
            description="manual: nothing happens to its payouts until advance_clock moves time (exact, instant "
                        "tests); live: they move on their own in real time")] = "manual",
        opening_balance: Annotated[str, Field(pattern=r"^\d{1,12}(\.\d{1,2})?$",
                                              description="PKR available to pay out")] = OPENING_BALANCE,
        reveal_key: Annotated[bool, Field(
            description="also answer the merchant's API key (sk_test_…), e.g. to configure the code under "
                        "test; by default the server keeps it and uses it for this session's calls")] = False,
    ) -> dict[str, Any]:
        """Make a fresh merchant of this session (needs the server started with the admin key); every other
        tool then acts as it. Its API key is kept by the server and not shown unless reveal_key is true."""
        if sandbox.admin_key is None:
            raise ToolError("this server was started with a merchant's key and acts as that merchant only: "
                            "start `sandbox mcp` with the admin key (--admin-key) to make merchants")
        body = {"name": f"mcp {uuid.uuid4().hex[:8]}", "opening_balance": opening_balance, "clock": clock}
        made = await sandbox.call(sandbox.admin_key, "POST", "/sandbox/merchants", json=body, status=201,
                                  into=NewMerchantOut)
        sandbox.remember(ctx, Merchant(made.api_key, made.merchant.id, made.merchant.clock))
        answer: dict[str, Any] = {"merchant": msgspec.to_builtins(made.merchant),
                                  "opening_balance": opening_balance,
                                  "api_key": made.api_key if reveal_key else "kept by the server (reveal_key)"}
        return answer

    @app.tool()
    async def scenarios(
        ctx: Context,
        name: Annotated[str | None, Field(description="one scenario, with its steps and their delays")] = None,
    ) -> dict[str, Any]:
        """The payout scenarios this merchant can use (built-in and its own): name, the account-number suffix
        that picks it, the statuses it walks (path), and the failure code it ends with. A payout follows one by
        name (create_payout scenario=…) or by its destination's last four digits (account_suffix=…)."""
        table = await sandbox.as_merchant(ctx, "GET", "/sandbox/scenarios", into=ScenarioTable)
        if name is not None:
            found = [s for s in table.scenarios if s.name == name]
            if not found:
                known = ", ".join(s.name for s in table.scenarios)
                raise ToolError(f"no scenario {name!r}; this merchant has: {known}")
            return fit({"scenario": msgspec.to_builtins(found[0])})
        listed = [{"name": s.name, "suffix": s.suffix, "title": s.title, "path": s.path,
                   "failure_code": s.failure_code, "custom": s.custom} for s in table.scenarios]
        return fit({"default": table.default, "review": msgspec.to_builtins(table.review), "scenarios": listed})

    @app.tool()
    async def failure_codes(ctx: Context) -> dict[str, Any]:
        """The closed catalogue of failure and return reasons: each code with its ISO 20022 reason code,
        whether a retry can help, and the message a payee would be told."""
        codes = await sandbox.as_merchant(ctx, "GET", "/sandbox/failure-codes", into=list[Failure])
        return fit({"failure_codes": msgspec.to_builtins(codes)})
