"""The MCP server: every tool, resource and prompt on one `SealedServer` (the official
SDK's `MCPServer` with the rules every call follows, sandbox/mcp/sealed.py), served over
stdio (what a coding agent launches) or streamable HTTP (`--http`, sandbox/mcp/http.py:
one server for a shared sandbox, each client with merchants of its own).

The HTTP transport is its own process on its own port, not a path of the API: mounting it
in the API would import the SDK (about a second) on every API start for a feature most
sandboxes never use, and would make the API depend on an optional extra."""

from __future__ import annotations

from sandbox import version
from sandbox.mcp import guides, prompts
from sandbox.mcp.connection import Sandbox
from sandbox.mcp.sealed import SealedServer
from sandbox.mcp.tools import merchant, payout, verdict, webhook

INSTRUCTIONS = (
    "MyPay Sandbox, a mock payout PSP. Start with whoami. With the admin key, new_merchant (clock \"manual\") "
    "gives you a merchant of your own and answers its handle: pass merchant=<handle> to every other tool (over "
    "stdio or an HTTP session you may leave it out). Otherwise you act as the merchant whose key the server was "
    "started with. A payout follows a scenario (scenarios): create_payout, then advance_clock on a manual clock, "
    "then explain_payout; send_bank_callback answers a payout waiting for the bank. webhook_deliveries shows what "
    "your receiver answered; audit_webhook_receiver and gate judge the integration. The guides are resources "
    "(mypay-sandbox://guides/…). Answers are bounded: lists are paged (limit, cursor). A tool that writes takes "
    "idempotency_key: after a lost answer, call it again with the key its error names. Handles and session ids are "
    "bearer credentials; a restart of this server forgets them all: call new_merchant again.")


def build(sandbox: Sandbox) -> SealedServer:
    app = SealedServer("mypay-sandbox", title="MyPay Sandbox", version=version.of(), instructions=INSTRUCTIONS,
                       log_level="WARNING")
    app.sandbox = sandbox
    merchant.register(app, sandbox)
    payout.register(app, sandbox)
    webhook.register(app, sandbox)
    verdict.register(app, sandbox)
    guides.register(app)
    prompts.register(app)
    app.seal()
    return app


def serve(sandbox: Sandbox, host: str, port: int, allowed_hosts: list[str], allowed_origins: list[str],
          idle_s: float) -> None:
    import anyio

    from sandbox.mcp import http

    app = build(sandbox)
    http.redact_logs()  # whatever the transport: no log line carries a handle (or session id) whole
    if sandbox.transport == "stdio":
        anyio.run(app.run_stdio_async)
        return
    anyio.run(lambda: http.serve(app, host, port, sandbox.token, allowed_hosts, allowed_origins, idle_s))
