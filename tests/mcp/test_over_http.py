"""`sandbox mcp --http`: one streamable-HTTP server for a shared sandbox, driven by the
SDK's ClientSession. Started with the admin key, each MCP session gets a merchant of its
own; the tool list and every schema are what the SDK and JSON Schema accept."""

from __future__ import annotations

from collections.abc import AsyncIterator

import jsonschema
import pytest
from mcp.shared.exceptions import MCPError
from mcp_types import Tool

from tests.mcp.client import call, http_server, over_http, refused


@pytest.fixture
async def mcp_url(stack) -> AsyncIterator[str]:
    async with http_server(stack) as url:
        yield url


async def test_each_http_session_has_a_merchant_of_its_own_and_walks_a_payout(mcp_url):
    async with over_http(mcp_url) as one, over_http(mcp_url) as two:
        first = (await call(one, "new_merchant", clock="manual"))["merchant"]
        assert (await call(two, "whoami"))["merchant"] is None  # the other session's merchant is not its own
        second = (await call(two, "new_merchant", clock="manual"))["merchant"]
        assert first["id"] != second["id"]
        assert (await call(one, "whoami"))["merchant"]["id"] == first["id"]

        table = await call(one, "scenarios")
        [row] = [s for s in table["scenarios"] if s["name"] == "success_then_returned"]
        assert row["suffix"] == "0006" and row["path"][-1] == "returned"
        assert (await call(one, "scenarios", name="success_then_returned"))["scenario"]["steps"]
        codes = {c["code"]: c for c in (await call(one, "failure_codes"))["failure_codes"]}
        assert codes[row["failure_code"]]["iso_reason"]

        payout = (await call(one, "create_payout", scenario="success_then_returned"))["payout"]
        assert [p["id"] for p in (await call(one, "list_payouts"))["data"]] == [payout["id"]]
        assert (await call(two, "list_payouts"))["data"] == []
        moved = await call(one, "advance_clock", seconds=1)  # the scenario's first step is 1 s after creation
        assert [t["to"] for t in moved["transitions"]] == ["processing"]
        done = await call(one, "advance_clock", until_idle=True)
        assert (done["transitions"][-1]["payout_id"], done["transitions"][-1]["to"]) == (payout["id"], "returned")
        why = await call(one, "explain_payout", payout_id=payout["id"])
        assert why["payout"]["status"] == "returned" and why["failure"]["iso_reason"] == codes[row["failure_code"]][
            "iso_reason"]
        assert "success_then_returned" in (await call(one, "coverage"))["scenarios_reached"]
        # The second session's merchant cannot see the first one's payout.
        assert "404" in await refused(two, "explain_payout", payout_id=payout["id"])
        said = await refused(two, "new_merchant", clock="sometimes")
        assert said.endswith("clock: must be one of 'manual' or 'live' (code validation_error)"), said


async def test_every_tool_has_a_description_and_schemas_the_sdk_and_json_schema_accept(mcp_url):
    async with over_http(mcp_url) as session:
        tools = (await session.list_tools()).tools
        assert len(tools) == 23
        for tool in tools:
            Tool.model_validate(tool.model_dump(by_alias=True))  # the SDK's own model of the spec's Tool
            assert tool.description and len(tool.description) > 40, tool.name
            assert tool.input_schema["type"] == "object", tool.name
            jsonschema.Draft202012Validator.check_schema(tool.input_schema)
            assert tool.output_schema is not None and tool.output_schema["type"] == "object", tool.name
            for name, field in tool.input_schema.get("properties", {}).items():
                assert field.get("description"), f"{tool.name}'s {name} is not described"


async def test_the_guides_are_resources_and_the_prompts_name_the_tools(mcp_url):
    async with over_http(mcp_url) as session:
        resources = {str(r.uri): r for r in (await session.list_resources()).resources}
        guide = resources["mypay-sandbox://guides/coding-agents"]
        assert guide.mime_type == "text/markdown" and guide.title == "Coding agents (MCP)"
        [text] = (await session.read_resource(guide.uri)).contents
        assert "sandbox mcp" in getattr(text, "text", "")
        prompts = {p.name for p in (await session.list_prompts()).prompts}
        assert prompts == {"walk_every_scenario_and_gate", "why_did_my_payout_fail", "check_my_webhook_receiver"}
        asked = await session.get_prompt("why_did_my_payout_fail", {"payout_id": "po_123"})
        assert "explain_payout with payout_id=po_123" in getattr(asked.messages[0].content, "text", "")
        # A prompt's arguments are bounded and refused in words, as a tool's are.
        for arguments, said in (({"payout_id": "p" * 100_000}, "payout_id: must have at most 64 characters"),
                                ({"payout_id": "po_1", "colour": "red"}, "colour: is not an argument")):
            with pytest.raises(MCPError) as refused_:
                await session.get_prompt("why_did_my_payout_fail", arguments)
            assert said in str(refused_.value) and "ppppp" not in str(refused_.value)
