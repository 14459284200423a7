"""Who the server acts as, a fresh merchant (and forgetting one), and the sandbox's
catalogues (scenarios, failure codes): what an agent reads before it makes a payout."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit, urlunsplit

import msgspec
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from sandbox.clocks.schemas import MerchantClock
from sandbox.coverage.schemas import Coverage
from sandbox.mcp.connection import Sandbox
from sandbox.mcp.merchants import Merchant, shown
from sandbox.mcp.tools.arguments import AmountOrZero, Handle, IdempotencyKey
from sandbox.payouts.model.failures import Failure
from sandbox.payouts.model.scenarios import ScenarioTable
from sandbox.simulator.schemas import NewMerchantOut

OPENING_BALANCE = "1000000.00"
ScenarioName = Annotated[str | None, Field(max_length=40, description="one scenario by name, with its steps and "
                                                                      "their delays")]


def redacted(url: str) -> str:
    """A URL as whoami shows it: no user name or password (`user:pass@`), no query."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = (f"[{host}]" if ":" in host else host) + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def register(app: MCPServer, sandbox: Sandbox) -> None:
    @app.tool()
    async def whoami(ctx: Context, merchant: Handle = None) -> dict[str, Any]:
        """Which sandbox this server talks to and as whom: started with a merchant's key it acts as that
        merchant only; started with the admin key it makes fresh merchants (new_merchant) and acts for the one
        a call names by its handle (or this session's latest). Also that merchant's id and clock."""
        found = sandbox.merchant(ctx, merchant)
        answer: dict[str, Any] = {"sandbox": redacted(sandbox.url), "mode": sandbox.mode, "says": sandbox.says_who(),
                                  "transport": sandbox.transport, "merchant": None}
        if sandbox.admin_key is not None:
            held = sandbox.merchants
            answer["held"] = {"by_you": len(held.held_by(sandbox.client(ctx).identity)),
                              "by_this_server": len(held), "most_per_client": held.most_per_client,
                              "most_in_all": held.most_held}
        if found is not None:
            clock = await sandbox.call(found.key, "GET", "/sandbox/clock", into=MerchantClock)
            if found.id is None:  # started with --key: the API says whose it is
                found.id = (await sandbox.call(found.key, "GET", "/sandbox/coverage", into=Coverage)).merchant_id
            answer["merchant"] = {"id": found.id, "handle": found.handle, "clock": msgspec.to_builtins(clock)}
        return answer

    @app.tool()
    async def new_merchant(
        ctx: Context,
        clock: Annotated[Literal["manual", "live"], Field(
            description="manual: nothing happens to its payouts until advance_clock moves time (exact, instant "
                        "tests); live: they move on their own in real time")] = "manual",
        opening_balance: Annotated[AmountOrZero, Field(description="PKR available to pay out")] = OPENING_BALANCE,
        reveal_key: Annotated[bool, Field(
            description="also answer the merchant's API key (sk_test_…), e.g. to configure the code under "
                        "test; by default the server keeps it and uses it for calls that name the handle")] = False,
        idempotency_key: IdempotencyKey = None,
    ) -> dict[str, Any]:
        """Make a fresh merchant (needs the server started with the admin key) and answer its handle (mh_…):
        every other tool acts for the merchant its `merchant` argument names (in a session, the latest one when
        none is named). Its API key is kept by the server and not shown unless reveal_key is true. The handle
        (like an HTTP session id) is a bearer credential: keep it out of logs and shared files. The server
        keeps handles in memory only: after it restarts, a session ends or a handle idles out, no handle
        works and none can be re-attached; call new_merchant again (the old merchant stays in the sandbox)."""
        if sandbox.admin_key is None:
            raise ToolError("this server was started with a merchant's key and acts as that merchant only: "
                            "start `sandbox mcp` with the admin key (--admin-key) to make merchants")
        # The body follows from the arguments and the key, so a retry with the key is the same request
        # (the API answers what the first did); the key is scoped to this client (Sandbox.scoped_key).
        scoped = sandbox.scoped_key(ctx, idempotency_key or uuid.uuid4().hex)
        body = {"name": f"mcp {scoped[4:12]}", "opening_balance": opening_balance, "clock": clock}
        made = await sandbox.call(sandbox.admin_key, "POST", "/sandbox/merchants", json=body, status=201,
                                  into=NewMerchantOut, idempotency_key=scoped)
        handle = sandbox.remember(ctx, Merchant(made.api_key, made.merchant.id, made.merchant.clock))
        return {"merchant": msgspec.to_builtins(made.merchant), "handle": handle,
                "use": "pass merchant=<handle> to every other tool (in a session you may leave it out: this "
                       "merchant is the session's latest)",
                "opening_balance": opening_balance,
                "api_key": made.api_key if reveal_key else "kept by the server (reveal_key)"}

    @app.tool()
    async def forget_merchant(
        ctx: Context,
        merchant: Annotated[str, Field(max_length=35, pattern=r"^mh_[A-Za-z0-9_-]{32}$",
                                       description="the handle new_merchant answered")],
    ) -> dict[str, Any]:
        """Make this server forget a merchant it made for you: its handle stops working and it no longer counts
        toward the merchants one client may hold. The merchant and its data stay in the sandbox."""
        found = sandbox.merchant(ctx, merchant)
        assert found is not None and found.handle is not None
        sandbox.merchants.forget(found.handle)
        return {"forgotten": shown(found.handle), "merchant_id": found.id}

    @app.tool()
    async def scenarios(ctx: Context, name: ScenarioName = None, merchant: Handle = None) -> dict[str, Any]:
        """The payout scenarios this merchant can use (built-in and its own): name, the account-number suffix
        that picks it, the statuses it walks (path), and the failure code it ends with. A payout follows one by
        name (create_payout scenario=…) or by its destination's last four digits (account_suffix=…); any other
        suffix follows the default scenario."""
        table = await sandbox.as_merchant(ctx, merchant, "GET", "/sandbox/scenarios", into=ScenarioTable)
        if name is not None:
            found = [s for s in table.scenarios if s.name == name]
            if not found:
                known = ", ".join(s.name for s in table.scenarios)
                raise ToolError(f"no scenario by that name; this merchant has: {known}")
            return {"scenario": msgspec.to_builtins(found[0])}
        listed = [{"name": s.name, "suffix": s.suffix, "title": s.title, "path": s.path,
                   "failure_code": s.failure_code, "custom": s.custom} for s in table.scenarios]
        return {"default": table.default, "review": msgspec.to_builtins(table.review), "scenarios": listed}

    @app.tool()
    async def failure_codes(ctx: Context, merchant: Handle = None) -> dict[str, Any]:
        """The closed catalogue of failure and return reasons: each code with its ISO 20022 reason code,
        whether a retry can help, and the message a payee would be told."""
        codes = await sandbox.as_merchant(ctx, merchant, "GET", "/sandbox/failure-codes", into=list[Failure])
        return {"failure_codes": msgspec.to_builtins(codes)}
