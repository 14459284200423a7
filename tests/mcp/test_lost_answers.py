"""Every tool that writes, its answer lost between `sandbox mcp` and the API (a proxy
that closes the connection once the API has answered): the error names the call to make,
and making exactly that call gets the first call's effect, once. Through the SDK's default
client, as an agent would."""

from __future__ import annotations

import re

import pytest

from tests.mcp.client import call, http_server, refused, second_client, sessionless
from tests.mcp.losing_proxy import LosingProxy

pytestmark = pytest.mark.process

ADVICE = re.compile(r"call (\w+) again with the same arguments and idempotency_key=(\S+) to get its answer")


async def _lost_then_recovered(mcp, proxy: LosingProxy, tool: str, route: str, /, **arguments
                               ) -> tuple[dict, dict, str]:
    """`tool`'s answer lost at the proxy; the call its error names, made to the letter.
    Answers the recovered answer, the lost one, and the key."""
    proxy.lose_next("POST", "/api/v1" + route)
    said = await refused(mcp, tool, **arguments)
    advice = ADVICE.search(said)
    assert advice is not None and advice[1] == tool, said
    again = await call(mcp, advice[1], **arguments, idempotency_key=advice[2])
    return again, proxy.lost.pop()["body"], advice[2]


async def _once(mcp, handle: str, key: str) -> None:
    """The API did the work once under `key`: one first request, the rest replays."""
    rows = (await call(mcp, "list_requests", with_idempotency_key=key, merchant=handle))["data"]
    assert [r["idempotency_outcome"] for r in rows].count("first") == 1, rows
    assert {r["idempotency_outcome"] for r in rows} <= {"first", "replayed"}, rows


async def test_every_writing_tool_recovers_a_lost_answer_by_the_call_its_error_names(stack):
    proxy = LosingProxy(stack.base_url)
    try:
        api = await proxy.start()
        async with http_server(stack, url=api) as url, sessionless(url) as mcp:
            made, lost, key = await _lost_then_recovered(mcp, proxy, "new_merchant", "/sandbox/merchants",
                                                         reveal_key=True)
            assert made["merchant"]["id"] == lost["merchant"]["id"] and made["api_key"] == lost["api_key"]
            h = made["handle"]
            # Another client replaying the key gets a merchant of its own, never this one or its key.
            other = await second_client(url, payouts=0, key=key)
            assert other["errors"] == [] and other["merchant"]["id"] != made["merchant"]["id"]

            paid, lost, key = await _lost_then_recovered(mcp, proxy, "create_payout", "/payouts", scenario="success",
                                                         merchant=h)
            assert paid["payout"]["id"] == lost["id"]
            assert [p["id"] for p in (await call(mcp, "list_payouts", merchant=h))["data"]] == [lost["id"]]
            await _once(mcp, h, key)

            cancelled, lost, key = await _lost_then_recovered(mcp, proxy, "cancel_payout", r"/payouts/\w+/cancel",
                                                              payout_id=paid["payout"]["id"], merchant=h)
            assert cancelled["payout"]["status"] == lost["status"] == "cancelled"
            await _once(mcp, h, key)

            failing = (await call(mcp, "create_payout", scenario="failed_account_frozen", merchant=h))["payout"]
            stepped, lost, key = await _lost_then_recovered(mcp, proxy, "advance_clock", "/sandbox/clock/advance",
                                                            one_step=True, merchant=h)
            assert stepped == lost and stepped["transitions"]
            await _once(mcp, h, key)
            await call(mcp, "advance_clock", until_idle=True, merchant=h)
            again, lost, key = await _lost_then_recovered(mcp, proxy, "reinitiate_payout",
                                                          r"/payouts/\w+/reinitiate", payout_id=failing["id"],
                                                          account_suffix="0000", merchant=h)
            assert again["payout"] == lost and lost["status"] == "pending"
            await _once(mcp, h, key)

            waiting = (await call(mcp, "create_payout", scenario="awaiting_ipn", merchant=h))["payout"]
            await call(mcp, "advance_clock", until_idle=True, merchant=h)
            sent, lost, key = await _lost_then_recovered(mcp, proxy, "send_bank_callback",
                                                         r"/sandbox/payouts/\w+/simulate", payout_id=waiting["id"],
                                                         status="success", merchant=h)
            assert sent == lost
            await _once(mcp, h, key)

            hook, lost, key = await _lost_then_recovered(mcp, proxy, "register_webhook_endpoint", "/webhook-endpoints",
                                                         url="http://127.0.0.1:9/hook", merchant=h)
            assert hook["endpoint"]["id"] == lost["id"]
            assert [e["id"] for e in (await call(mcp, "list_webhook_endpoints", merchant=h))["data"]] == [lost["id"]]
            await _once(mcp, h, key)

            [event] = (await call(mcp, "webhook_deliveries", payout_id=waiting["id"], merchant=h))["events"][:1]
            resent, lost, key = await _lost_then_recovered(mcp, proxy, "resend_event", r"/events/\w+/resend",
                                                           event_id=event["event_id"], merchant=h)
            assert resent == lost
            await _once(mcp, h, key)

            audit, lost, key = await _lost_then_recovered(mcp, proxy, "audit_webhook_receiver",
                                                          r"/webhook-endpoints/\w+/audit",
                                                          endpoint_id=hook["endpoint"]["id"], merchant=h)
            # The battery (36 cases) is more than a tool's answer holds: the answer keeps its first
            # cases, each the API's, and its summary counts them all.
            kept = [(c["name"], c["passed"]) for c in audit["cases"] if isinstance(c, dict)]
            assert kept == [(c["name"], c["passed"]) for c in lost["cases"]][:len(kept)] and kept, audit["cases"]
            assert audit["case_count"] == len(lost["cases"]), audit
            await _once(mcp, h, key)

            rule, lost, key = await _lost_then_recovered(mcp, proxy, "inject_fault", "/sandbox/faults",
                                                         fault="unavailable", path="/nothing-here", merchant=h)
            assert rule["rule"]["id"] == lost["id"]
            await _once(mcp, h, key)
            assert proxy.rules == []
    finally:
        await proxy.stop()
