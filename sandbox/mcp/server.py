"""The MCP server: every tool, resource and prompt on one `MCPServer` (the official SDK),
served over stdio (what a coding agent launches) or streamable HTTP (`--http`: one server
for a shared sandbox, each MCP session with a merchant of its own).

The HTTP transport is its own process on its own port, not a path of the API: mounting it
in the API would import the SDK (about a second) on every API start for a feature most
sandboxes never use, and would make the API depend on an optional extra."""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer

from sandbox import version
from sandbox.mcp import guides, merchant_tools, payout_tools, prompts, verdict_tools, webhook_tools
from sandbox.mcp.connection import Sandbox

HTTP_PATH = "/mcp"

INSTRUCTIONS = (
    "MyPay Sandbox, a mock payout PSP. Start with whoami. With the admin key, new_merchant (clock \"manual\") "
    "gives you a merchant of your own; otherwise you act as the merchant whose key the server was started "
    "with. A payout follows a scenario (scenarios): create_payout, then advance_clock on a manual clock, then "
    "explain_payout. webhook_deliveries shows what your receiver answered; audit_webhook_receiver and gate "
    "judge the integration. The guides are resources (mypay-sandbox://guides/…). Answers are bounded: lists "
    "are paged (limit, cursor).")


def build(sandbox: Sandbox) -> MCPServer:
    app = MCPServer("mypay-sandbox", title="MyPay Sandbox", version=version.of(), instructions=INSTRUCTIONS,
                    log_level="WARNING")
    merchant_tools.register(app, sandbox)
    payout_tools.register(app, sandbox)
    webhook_tools.register(app, sandbox)
    verdict_tools.register(app, sandbox)
    guides.register(app)
    prompts.register(app)
    return app


def serve(sandbox: Sandbox, http: bool, host: str, port: int) -> None:
    import anyio

    app = build(sandbox)
    if not http:
        anyio.run(app.run_stdio_async)
        return
    anyio.run(lambda: app.run_streamable_http_async(host=host, port=port, streamable_http_path=HTTP_PATH))
