"""Prompts for the common tasks: each names the tools to call, in order, so an agent
(or its user, from a client's prompt menu) gets there without reading every guide first."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import MCPServer
from pydantic import Field

from sandbox.mcp.tools.arguments import PayoutId

WALK = (
    "Using the MyPay Sandbox tools: call whoami; if no merchant is active, new_merchant with clock \"manual\" (pass "
    "the handle it answers as merchant=… to every later call). Call "
    "scenarios. For each scenario, create_payout with scenario=<name>. Then advance_clock until_idle=true and read "
    "the transitions. Payouts in review or on hold wait for an operator: say so rather than forcing them. For each "
    "payout that failed or was returned, explain_payout and report its reason and ISO code. If my code has a "
    "webhook receiver, register_webhook_endpoint with its URL and audit_webhook_receiver. Finish with gate "
    "require_coverage=\"all\" (and audit_endpoint if one was registered) and tell me, in a short list, what held, "
    "what fell short and what is missing.")
WHY = (
    "Using the MyPay Sandbox tools, call explain_payout with payout_id={payout_id}. Tell me in plain words: which "
    "scenario it followed, the statuses it walked with their times, the failure or return reason (code, ISO 20022 "
    "reason code, message), whether a retry can help and what my integration should do. Then call "
    "webhook_deliveries for the payout and say whether my receiver acknowledged each event (2xx); for any request "
    "id in its events, request_log shows what my client sent.")
CHECK = (
    "Using the MyPay Sandbox tools: register_webhook_endpoint with url={url} and tell me the signing secret my "
    "receiver must verify with. Then audit_webhook_receiver on the new endpoint. For every failed case say what "
    "the receiver did, what it must do instead and why (the case's `why`). Then create_payout with scenario "
    "success, advance_clock until_idle=true, and use webhook_deliveries to show what my receiver answered to "
    "each real event.")


def register(app: MCPServer) -> None:
    @app.prompt(title="Walk every scenario and gate")
    def walk_every_scenario_and_gate() -> str:
        """Make a payout down every scenario on a manual clock, check the receiver, and ask the gate."""
        return WALK

    @app.prompt(title="Why did my payout fail?")
    def why_did_my_payout_fail(payout_id: PayoutId) -> str:
        """Explain a failed or returned payout: its path, its reason with the ISO code, and what to do."""
        return WHY.format(payout_id=payout_id)

    @app.prompt(title="Check my webhook receiver")
    def check_my_webhook_receiver(url: Annotated[str, Field(max_length=2048, description="the receiver's URL")]
                                  ) -> str:
        """Register the receiver, audit it, and say what it must fix."""
        return CHECK.format(url=url)
