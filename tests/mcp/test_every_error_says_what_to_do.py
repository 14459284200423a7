"""Every error a tool answers says what to do next, not only what is wrong (issue 92: 10 of
286 stated a fact and no action, the 404 for an unknown id and the 409 for a state that
does not allow the call). Walked through the SDK's default client: every tool that takes
an id, given one that does not exist; every call a payout's state refuses; every tool
called without the merchant it needs."""

from __future__ import annotations

import re

import pytest

from tests.mcp.client import call, http_server, refused, sessionless

pytestmark = pytest.mark.process

UNKNOWN = {"payout_id": "po_doesnotexist0", "event_id": "evt_nothere0", "endpoint_id": "we_nothere0",
           "request_id": "req_nothere0"}
EXTRA = {"send_bank_callback": {"status": "success"}}  # the other arguments a call needs
# Words that tell the agent to do something; or the error names a tool to call.
ACTION = re.compile(r"\b(call|pass|give|wait|send|try|leave|ask|make|correct)\b")


def _says_what_to_do(text: str, tools: list[str]) -> bool:
    text = re.sub(r"^Error executing tool \S+: ", "", text)  # the SDK's prefix names the tool called
    return any(tool in text for tool in tools) or ACTION.search(text) is not None


async def test_every_tools_errors_say_what_to_do(stack):
    async with http_server(stack) as url, sessionless(url) as mcp:
        tools = (await mcp.list_tools()).tools
        names = [tool.name for tool in tools]
        h = (await call(mcp, "new_merchant", clock="manual"))["handle"]
        errors: dict[str, str] = {}

        # An unknown id, in every tool that takes one.
        for tool in tools:
            for name in tool.input_schema.get("properties", {}):
                if name in UNKNOWN:
                    needed = {n: UNKNOWN[n] for n in tool.input_schema.get("required", []) if n in UNKNOWN}
                    said = await refused(mcp, tool.name, merchant=h, **{**needed, name: UNKNOWN[name]},
                                         **EXTRA.get(tool.name, {}))
                    errors[f"{tool.name} with an unknown {name}"] = said
        assert {key.split()[0] for key in errors} >= {
            "explain_payout", "cancel_payout", "reinitiate_payout", "send_bank_callback", "resend_event",
            "audit_webhook_receiver", "request_log", "webhook_deliveries"}, errors.keys()

        # A state that does not allow the call: a returned payout.
        returned = (await call(mcp, "create_payout", scenario="success_then_returned", merchant=h))["payout"]["id"]
        await call(mcp, "advance_clock", until_idle=True, merchant=h)
        for tool, arguments in (("cancel_payout", {}), ("reinitiate_payout", {}),
                                ("send_bank_callback", {"status": "success"})):
            said = await refused(mcp, tool, payout_id=returned, merchant=h, **arguments)
            assert "409" in said, said
            errors[f"{tool} on a returned payout"] = said

        # Every tool that acts as a merchant, called without one (a session-less call).
        for tool in tools:
            if "merchant" in tool.input_schema.get("properties", {}) and not tool.input_schema.get("required"):
                result = await mcp.call_tool(tool.name, {})
                if result.is_error:
                    errors[f"{tool.name} without a merchant"] = "".join(getattr(b, "text", "") for b in result.content)

        silent = {case: said for case, said in errors.items() if not _says_what_to_do(said, names)}
        assert silent == {}, "\n".join(f"{k}: {v}" for k, v in silent.items())
        unknown_payout = errors["explain_payout with an unknown payout_id"]
        assert "404" in unknown_payout and "list_payouts" in unknown_payout, unknown_payout
        assert "explain_payout" in errors["cancel_payout on a returned payout"]
        assert "create_payout" in errors["reinitiate_payout on a returned payout"]
        assert "list_webhook_endpoints" in errors["audit_webhook_receiver with an unknown endpoint_id"]
        assert "list_requests" in errors["request_log with an unknown request_id"]
        assert "webhook_deliveries" in errors["resend_event with an unknown event_id"]
