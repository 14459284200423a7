"""What an agent reads and acts on is the API's: advice only the payout's status allows,
404 for an unknown id in every tool, refusals that list the valid values, transport errors
in words (bounded, echoing nothing), and a `--url` it cannot use refused at start. Through
the SDK's default client."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from mcp.shared.exceptions import MCPError

from sandbox.mcp.bounds import MAX_ERROR
from tests.mcp.client import SANDBOX, call, http_server, refused, sessionless

pytestmark = pytest.mark.process

UNKNOWN = "po_doesnotexist0"


async def test_advice_ids_and_enums_are_the_apis(stack):
    async with http_server(stack) as url, sessionless(url) as mcp:
        h = (await call(mcp, "new_merchant"))["handle"]
        returned = (await call(mcp, "create_payout", scenario="success_then_returned", merchant=h))["payout"]
        await call(mcp, "advance_clock", until_idle=True, merchant=h)
        why = await call(mcp, "explain_payout", payout_id=returned["id"], merchant=h)
        assert why["payout"]["status"] == "returned"
        assert "reinitiate_payout" not in why["failure"]["what_to_do"] + why["summary"], why["failure"]
        assert "make a new payout" in why["failure"]["what_to_do"] and "cannot be reinitiated" in why["summary"]
        said = await refused(mcp, "reinitiate_payout", payout_id=returned["id"], merchant=h)
        assert "409" in said  # what the advice no longer offers, the API refuses

        failed = (await call(mcp, "create_payout", scenario="failed_account_frozen", merchant=h))["payout"]
        await call(mcp, "advance_clock", until_idle=True, merchant=h)
        assert "reinitiate_payout" in (await call(mcp, "explain_payout", payout_id=failed["id"], merchant=h)
                                       )["failure"]["what_to_do"]

        for tool, arguments in (
                ("explain_payout", {"payout_id": UNKNOWN}), ("cancel_payout", {"payout_id": UNKNOWN}),
                ("reinitiate_payout", {"payout_id": UNKNOWN}),
                ("send_bank_callback", {"payout_id": UNKNOWN, "status": "success"}),
                ("webhook_deliveries", {"payout_id": UNKNOWN}), ("webhook_deliveries", {"event_id": "evt_nothere0"}),
                ("resend_event", {"event_id": "evt_nothere0"}), ("audit_webhook_receiver", {"endpoint_id": "we_no0"}),
                ("request_log", {"request_id": "req_nothere0"})):
            said = await refused(mcp, tool, **arguments, merchant=h)
            assert "404" in said, (tool, said)

        said = await refused(mcp, "list_payouts", status="succeeded", merchant=h)
        assert "status: must be one of" in said and "'success'" in said and "'returned'" in said
        assert "succeeded" not in said  # the value is never echoed
        said = await refused(mcp, "list_requests", method="FETCH", merchant=h)
        assert "method: must be one of" in said and "'POST'" in said and "'DELETE'" in said
        # Constraints the API has, met by the tool before anything is sent.
        said = await refused(mcp, "cancel_payout", payout_id=returned["id"], reason="ok \u202e reversed", merchant=h)
        assert "reason: must be printable text" in said and "bidirectional" in said
        assert "at most 128 characters" in await refused(mcp, "request_log", request_id="r" * 129, merchant=h)
        assert "url:" in await refused(mcp, "register_webhook_endpoint", url="ftp://x", merchant=h)
        assert "url:" in await refused(mcp, "register_webhook_endpoint", url="", merchant=h)


async def test_transport_errors_are_words_bounded_and_echo_nothing(stack):
    async with http_server(stack) as url:
        junk = {"hello": "ECHO" * 500, "params": [1, 2, 3]}
        async with httpx.AsyncClient() as http:
            answer = await http.post(url, json=junk, headers={"Accept": "application/json, text/event-stream",
                                                              "MCP-Protocol-Version": "2026-07-28"})
        assert answer.status_code == 400 and len(answer.content) < 1000, answer.text[:300]
        message = answer.json()["error"]["message"]
        assert "not a JSON-RPC 2.0 message" in message and "ECHO" not in answer.text
        assert "validation error" not in answer.text and "pydantic" not in answer.text

        async with sessionless(url) as mcp:
            h = (await call(mcp, "new_merchant"))["handle"]
            try:
                await mcp.call_tool("cancel_payout", {"payout_id": "po_x", "reason": "r" * 1_000_000, "merchant": h})
                raise AssertionError("a 1 MB argument was taken")
            except MCPError as exc:
                said = str(exc)
            assert "at most 256 KiB" in said and "Server returned an error response" not in said
            assert len(said) < MAX_ERROR and "rrrrrrrrrr" not in said


@pytest.mark.parametrize(("given", "said"), [
    ("http://127.0.0.1:{port}/?tenant=a", "may not carry a query string"),
    ("http://127.0.0.1:{port}/api/v1?x=1", "may not carry a query string"),
    ("http://127.0.0.1:{port}/#top", "may not carry a fragment"),
    ("http://127.0.0.1:{port}/api/v2", "is not a sandbox's"),
])
async def test_a_url_it_cannot_use_is_refused_at_start_in_words(stack, given, said):
    port = stack.base_url.rsplit(":", 1)[1]
    done = await asyncio.create_subprocess_exec(
        SANDBOX, "mcp", "--http", "--port", "1", "--url", given.format(port=port), "--admin-key", stack.admin_key,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(done.communicate(), 60)
    assert done.returncode == 2 and said in err.decode(), err.decode()
    assert "Traceback" not in err.decode()
