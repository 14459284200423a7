"""`sandbox mcp --http` as sealed as the API: every client's merchants are its own,
whatever protocol it speaks and whatever headers it forges; one client cannot crowd out
another; beyond loopback a token and the allowed names are required. Each finding both
through the SDK's own clients (the default, session-less one and the handshake one) and
through raw requests."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest

from tests.helpers import free_port, wait_for
from tests.mcp.client import SANDBOX, call, http_server, over_http, refused, sessionless
from tests.mcp.raw import handshake, result_of, sessionless_call, words

TOKEN = "t0ken-for-the-tests-0123456789"


async def test_the_sdks_default_client_gets_a_merchant_of_its_own_by_its_handle(stack, tmp_path):
    log = tmp_path / "mcp.log"
    async with http_server(stack, log=log) as url:
        async with sessionless(url) as one, sessionless(url) as two, over_http(url) as victim:
            mine = await call(one, "new_merchant")
            handle = mine["handle"]
            assert re.fullmatch(r"mh_[A-Za-z0-9_-]{32}", handle)
            payout = (await call(one, "create_payout", scenario="success", merchant=handle))["payout"]
            assert [p["id"] for p in (await call(one, "list_payouts", merchant=handle))["data"]] == [payout["id"]]
            # Without its handle a session-less call acts for no one, and says what to pass.
            assert "pass merchant=" in await refused(two, "list_payouts")
            assert (await call(two, "whoami"))["merchant"] is None
            # The other default client's own merchant sees nothing of the first one's.
            theirs = (await call(two, "new_merchant"))["handle"]
            assert (await call(two, "list_payouts", merchant=theirs))["data"] == []
            assert "404" in await refused(two, "explain_payout", payout_id=payout["id"], merchant=theirs)

            # A session's merchant: made by the handshake client, not reachable without its session.
            victims = (await call(victim, "new_merchant"))["handle"]
            await call(victim, "create_payout", scenario="success")
            assert "no merchant of yours has that handle" in await refused(one, "list_payouts", merchant=victims)
            # ... and a session-less handle is not the session's either.
            assert "no merchant of yours has that handle" in await refused(victim, "whoami", merchant=handle)

            # curl, with no session and no handle, lists nobody's payouts.
            bare = await sessionless_call(url, "list_payouts")
            assert result_of(bare)["isError"] and "pass merchant=" in words(bare)
            session_id = (await handshake(url)).headers["mcp-session-id"]
            forged = await sessionless_call(url, "list_payouts", headers={"Mcp-Session-Id": session_id})
            assert result_of(forged)["isError"] and "pass merchant=" in words(forged)
            # A made-up session id on the handshake protocol is a session the SDK does not know.
            async with httpx.AsyncClient() as http:
                unknown = await http.post(url, headers={"Mcp-Session-Id": "f" * 32, "Accept": "application/json, "
                                                        "text/event-stream", "Content-Type": "application/json",
                                                        "MCP-Protocol-Version": "2025-11-25"},
                                          json={"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                                                "params": {"name": "list_payouts", "arguments": {}}})
            assert unknown.status_code == 404
            # The handle itself, sent raw, acts for its merchant (it is the credential).
            held = await sessionless_call(url, "list_payouts", {"merchant": handle})
            assert [p["id"] for p in result_of(held)["structuredContent"]["data"]] == [payout["id"]]
    written = log.read_text()
    assert session_id not in written and handle not in written and victims not in written


async def test_a_sessions_merchants_leave_with_it(stack):
    async with http_server(stack) as url, sessionless(url) as watcher:
        async with over_http(url) as session:
            await call(session, "new_merchant")
            await call(session, "new_merchant")
            assert (await call(session, "whoami"))["held"]["by_you"] == 2
            assert (await call(watcher, "whoami"))["held"]["by_this_server"] == 2

        async def gone():
            return (await call(watcher, "whoami"))["held"]["by_this_server"] == 0

        await wait_for(gone, what="the closed session's merchants forgotten")


async def test_a_token_guards_every_request_and_reveal_key_needs_it(stack):
    async with http_server(stack, "--token", TOKEN) as url:
        for headers in ({}, {"Authorization": "Bearer wrong-token-0123456789"}, {"Authorization": TOKEN}):
            refused_ = await sessionless_call(url, "whoami", headers=headers)
            assert refused_.status_code == 401 and "bearer token" in refused_.text
            assert (await handshake(url, headers)).status_code == 401
        async with sessionless(url, token=TOKEN) as holder:
            made = await call(holder, "new_merchant", reveal_key=True)
            assert made["api_key"].startswith("sk_test_")
        async with over_http(url, token=TOKEN) as session:
            assert (await call(session, "whoami"))["mode"] == "admin"
        ok = await sessionless_call(url, "whoami", headers={"Authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200 and not result_of(ok)["isError"]


async def test_foreign_host_and_origin_are_refused_and_allowed_ones_pass(stack):
    async with http_server(stack, "--allowed-origin", "https://ide.example") as url:
        foreign = await sessionless_call(url, "whoami", headers={"Host": "evil.example"})
        assert foreign.status_code == 421
        origin = await sessionless_call(url, "whoami", headers={"Origin": "https://evil.example"})
        assert origin.status_code == 403
        allowed = await sessionless_call(url, "whoami", headers={"Origin": "https://ide.example"})
        assert allowed.status_code == 200


async def test_beyond_loopback_it_needs_a_token_and_the_names_clients_use(stack):
    base = [SANDBOX, "mcp", "--http", "--host", "0.0.0.0", "--port", str(free_port()), "--url", stack.base_url,
            "--admin-key", stack.admin_key]
    for extra, said in (([], "give a bearer token"), (["--token", TOKEN], "--allowed-host"),
                        (["--token", "short"], "at least 16 characters")):
        done = await asyncio.create_subprocess_exec(*base, *extra, stdout=asyncio.subprocess.DEVNULL,
                                                    stderr=asyncio.subprocess.PIPE)
        _, err = await asyncio.wait_for(done.communicate(), 60)
        assert done.returncode == 2 and said in err.decode(), err.decode()
    async with http_server(stack, "--token", TOKEN, "--allowed-host", "mcp.example.internal",
                           host="0.0.0.0") as url:
        named = await sessionless_call(url, "whoami", headers={"Authorization": f"Bearer {TOKEN}",
                                                               "Host": "mcp.example.internal:1234"})
        assert named.status_code == 200
        assert (await sessionless_call(url, "whoami", headers={"Host": "mcp.example.internal:1"})).status_code == 401
        other = await sessionless_call(url, "whoami", headers={"Authorization": f"Bearer {TOKEN}",
                                                               "Host": "evil.example"})
        assert other.status_code == 421


@pytest.mark.parametrize("protocol", ["sessionless", "handshake"])
async def test_a_lost_answer_is_recovered_with_the_key_its_error_names_over_http(stack, protocol):
    async with http_server(stack) as url, (sessionless(url) if protocol == "sessionless" else over_http(url)) as mcp:
        handle = (await call(mcp, "new_merchant"))["handle"]
        await call(mcp, "inject_fault", fault="response_lost", path="/webhook-endpoints", merchant=handle)
        lost = await refused(mcp, "register_webhook_endpoint", url="http://127.0.0.1:9/hook", merchant=handle)
        key = lost.split("idempotency_key=")[1].split()[0]
        again = await call(mcp, "register_webhook_endpoint", url="http://127.0.0.1:9/hook", idempotency_key=key,
                           merchant=handle)
        assert [e["id"] for e in (await call(mcp, "list_webhook_endpoints", merchant=handle))["data"]] == [
            again["endpoint"]["id"]]
