"""`sandbox mcp --http` fair under a greedy client: what one client holds (sessions,
merchants) is bounded by who it is, the process on loopback, which no new session, new
address or forged header resets; another client is answered and gets a merchant while the
greedy one is refused in words that say what it holds and how to free it. On loopback a
client is its process, so each "other client" here runs in a process of its own."""

from __future__ import annotations

import time

import httpx
import pytest

from sandbox.mcp.merchants import MOST_PER_CLIENT
from tests.helpers import wait_for
from tests.mcp.client import call, http_server, over_http, refused, second_client
from tests.mcp.raw import handshake, result_of, sessionless_call, words

pytestmark = pytest.mark.process

SESSIONS_PER_CLIENT = 20  # the guide says so (docs/coding-agents.md, "Fair shares")


async def _from(address: str, url: str, tool: str, arguments: dict | None = None) -> httpx.Response:
    """One session-less call sent from another loopback address (127.0.0.2): the same process."""
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": tool, "arguments": arguments or {}, "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}}}
    transport = httpx.AsyncHTTPTransport(local_address=address)
    async with httpx.AsyncClient(transport=transport, timeout=60) as http:
        return await http.post(url, json=body, headers={
            "Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2026-07-28",
            "Mcp-Method": "tools/call", "Mcp-Name": tool})


async def test_a_client_is_its_process_whatever_its_sessions_addresses_or_headers_and_another_keeps_its_share(stack):
    async with http_server(stack) as url, over_http(url) as session:
        await call(session, "new_merchant")  # one in a session of this process
        for n in range(MOST_PER_CLIENT - 2):  # session-less, each forging another session id and address
            made = await sessionless_call(url, "new_merchant", headers={"Mcp-Session-Id": f"{n:032x}",
                                                                       "X-Forwarded-For": f"10.0.0.{n}"})
            assert not result_of(made)["isError"], words(made)
        assert not result_of(await _from("127.0.0.2", url, "new_merchant"))["isError"]
        # The 21st, from yet another loopback address: the same process, refused, told what it holds.
        over = words(await _from("127.0.0.3", url, "new_merchant"))
        assert f"you hold {MOST_PER_CLIENT} merchants" in over, over
        assert f"{MOST_PER_CLIENT - 1} in session-less calls" in over and "1 in your other sessions" in over
        in_session = await refused(session, "new_merchant")
        assert "1 in this session" in in_session and f"{MOST_PER_CLIENT - 1} in session-less calls" in in_session
        assert (await call(session, "whoami"))["held"]["by_you"] == MOST_PER_CLIENT

        # Another client (another process) is answered, gets a merchant, and counts its own only.
        other = await second_client(url, payouts=1)
        assert other["errors"] == [] and other["handle"].startswith("mh_")
        assert other["whoami"]["held"]["by_you"] == 1
        assert other["whoami"]["held"]["by_this_server"] == MOST_PER_CLIENT + 1


async def test_one_client_cannot_take_every_session_and_another_still_gets_one(stack):
    async with http_server(stack) as url:
        opened = [await handshake(url, {"X-Forwarded-For": f"10.1.0.{n}"}) for n in range(SESSIONS_PER_CLIENT)]
        assert all(r.status_code == 200 and r.headers.get("mcp-session-id") for r in opened)
        more = await handshake(url)
        assert more.status_code == 429
        said = more.json()["error"]["message"]
        assert f"you hold {SESSIONS_PER_CLIENT} open sessions" in said and "DELETE /mcp" in said
        assert "5 minutes" in said
        # Through the SDK's handshake client the refusal arrives in the same words.
        try:
            async with over_http(url):
                raise AssertionError("a 21st session was opened")
        except Exception as exc:  # noqa: BLE001  (the SDK's error for a refused initialize)
            assert f"you hold {SESSIONS_PER_CLIENT} open sessions" in repr(exc), repr(exc)  # in an ExceptionGroup
        # Another process opens its session and gets its merchant.
        other = await second_client(url, payouts=1, session=True)
        assert other["errors"] == [] and other["handle"].startswith("mh_")
        # Ending one of ours makes room again.
        async with httpx.AsyncClient() as http:
            ended = await http.delete(url, headers={"Mcp-Session-Id": opened[0].headers["mcp-session-id"],
                                                    "MCP-Protocol-Version": "2025-11-25"})
        assert ended.status_code in (200, 204)
        assert (await handshake(url)).status_code == 200


async def test_an_idle_session_ends_in_the_time_given_and_its_merchants_with_it(stack):
    async with http_server(stack, "--idle-timeout", "10") as url:
        opened = await handshake(url)
        headers = {"Mcp-Session-Id": opened.headers["mcp-session-id"], "MCP-Protocol-Version": "2025-11-25",
                   "Accept": "application/json, text/event-stream"}
        async with httpx.AsyncClient(timeout=60) as http:
            await http.post(url, headers=headers, json={"jsonrpc": "2.0", "method": "notifications/initialized"})
            made = await http.post(url, headers=headers, json={"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                                                               "params": {"name": "new_merchant", "arguments": {}}})
        assert not result_of(made)["isError"]

        async def held() -> int:  # read from outside the session: reading inside would keep it busy
            return result_of(await sessionless_call(url, "whoami"))["structuredContent"]["held"]["by_this_server"]

        assert await held() == 1
        started = time.monotonic()
        await wait_for(lambda: _none(held), timeout=60, interval=1, what="the idle session's merchant forgotten")
        assert time.monotonic() - started < 40
        async with httpx.AsyncClient() as http:
            gone = await http.post(url, headers=headers, json={"jsonrpc": "2.0", "id": 3, "method": "ping"})
        assert gone.status_code == 404


async def _none(held) -> bool:
    return await held() == 0
