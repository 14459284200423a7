"""The rules every tool call follows, through the SDK's stdio client as an agent host
drives it: strict, bounded arguments refused in the API's words; one deadline per call;
retry advice only when a request may have been applied; bounded answers and resources;
the tools an integration needs for a payout waiting on the bank (the bank's callback,
cancel, reinitiate); a URL's credentials never shown."""

from __future__ import annotations

import json
import re
import time

from sandbox.mcp.bounds import MAX_BYTES, MAX_ERROR
from sandbox.mcp.merchants import HANDLE_PATTERN
from tests.helpers import free_port, wait_for
from tests.mcp.client import call, over_stdio, refused

WRITES = {"new_merchant", "create_payout", "cancel_payout", "reinitiate_payout", "send_bank_callback",
          "advance_clock", "register_webhook_endpoint", "resend_event", "audit_webhook_receiver", "inject_fault"}


def admin(stack) -> tuple[str, ...]:
    return "mcp", "--url", stack.base_url, "--admin-key", stack.admin_key


def strings_and_lists(schema: dict, at: str):
    """Every string and array in a JSON Schema, with where it is."""
    kinds = schema.get("type")
    if kinds == "string" or (isinstance(kinds, list) and "string" in kinds):
        yield at, schema
    if kinds == "array":
        yield at, schema
        yield from strings_and_lists(schema.get("items", {}), f"{at}[]")
    for key in ("anyOf", "oneOf"):
        for n, option in enumerate(schema.get(key, [])):
            yield from strings_and_lists(option, f"{at}|{n}")


async def test_every_argument_is_bounded_strict_and_every_write_takes_a_key(stack):
    async with over_stdio(*admin(stack)) as mcp:
        tools = {t.name: t for t in (await mcp.list_tools()).tools}
        for name, tool in tools.items():
            schema = tool.input_schema
            assert schema.get("additionalProperties") is False, name
            defs = schema.get("$defs", {})
            for field, spec in schema.get("properties", {}).items():
                spec = defs.get(spec.get("$ref", "").rsplit("/", 1)[-1], spec)
                for where, found in strings_and_lists(spec, f"{name}.{field}"):
                    assert found.get("maxLength") or found.get("enum") or found.get("const") or found.get(
                        "maxItems"), f"{where} has no bound"
            assert ("idempotency_key" in schema["properties"]) == (name in WRITES), name
        assert set(WRITES) <= set(tools)

        await call(mcp, "new_merchant", opening_balance="99999999.99")
        said = await refused(mcp, "create_payout", scenario="success", colour="red")
        assert "colour: is not an argument of this tool" in said and "(code validation_error)" in said
        assert "reveal_key: must be true or false" in await refused(mcp, "new_merchant", reveal_key="yes")
        assert "limit: must be an integer" in await refused(mcp, "list_payouts", limit="5")
        huge = await refused(mcp, "scenarios", name="x" * 1_000_000)
        assert "name: must have at most 40 characters" in huge and len(huge) < MAX_ERROR
        assert "xxxx" not in huge  # no value is echoed
        over = await refused(mcp, "create_payout", scenario="success", amount="100000000.00")
        assert "at most 99999999.99" in over and "validation_error" in over
        assert (await call(mcp, "create_payout", scenario="success", amount="99999999.99"))["payout"]["status"] in (
            "pending", "in_review")
        unknown = await refused(mcp, "no_such_tool_" + "y" * 10_000)
        assert len(unknown) < 500


async def test_the_apis_own_amount_error_states_the_maximum(merchant):
    body = {"amount": "100000000.00", "currency": "PKR", "destination": {
        "type": "bank", "bank_code": "HBL", "account_number": "12345678900001", "account_title": "Ali Raza"}}
    answer = await merchant.post("/payouts", json=body)
    assert answer.status_code == 400
    assert "at most 99999999.99" in answer.json()["detail"], answer.json()


async def test_a_suffix_no_scenario_has_says_it_follows_the_default(stack):
    async with over_stdio(*admin(stack)) as mcp:
        await call(mcp, "new_merchant")
        made = await call(mcp, "create_payout", account_suffix="9999")
        assert made["payout"]["scenario"] == "success"
        assert "no scenario has the suffix 9999" in made["follows"] and "success" in made["follows"]
        assert "success_then_returned" in (await call(mcp, "create_payout", account_suffix="0006"))["follows"]


async def test_one_deadline_bounds_a_call_and_the_advice_comes_only_when_a_write_may_have_applied(stack):
    async with over_stdio(*admin(stack), "--tool-timeout", "2") as mcp:
        handle = (await call(mcp, "new_merchant"))["handle"]
        await call(mcp, "inject_fault", fault="slow", path="/sandbox/scenarios", method="GET", delay_s=20, times=3)
        began = time.monotonic()
        slow = await refused(mcp, "scenarios")
        assert time.monotonic() - began < 10
        assert "within 2 s" in slow and "--tool-timeout" in slow and "idempotency_key=" not in slow
        # A write whose answer is held: it may have been applied, so its key is named.
        await call(mcp, "inject_fault", fault="timeout", path="/webhook-endpoints", delay_s=20)
        held = await refused(mcp, "register_webhook_endpoint", url="http://127.0.0.1:9/hook")
        assert "--tool-timeout" in held and "idempotency_key=" in held
        # Refused before anything happened (503): nothing to recover, no advice.
        await call(mcp, "inject_fault", fault="unavailable", path="/webhook-endpoints")
        unavailable = await refused(mcp, "register_webhook_endpoint", url="http://127.0.0.1:9/hook")
        assert "503" in unavailable and "idempotency_key=" not in unavailable
        # A 500 after the commit: the advice, and the key recovers the fault rule it made.
        await call(mcp, "inject_fault", fault="error_after_commit", path="/webhook-endpoints")
        failed = await refused(mcp, "register_webhook_endpoint", url="http://127.0.0.1:9/other", merchant=handle)
        key = failed.split("idempotency_key=")[1].split()[0]
        again = await call(mcp, "register_webhook_endpoint", url="http://127.0.0.1:9/other", idempotency_key=key)
        endpoints = (await call(mcp, "list_webhook_endpoints"))["data"]
        assert [e["id"] for e in endpoints if e["url"].endswith("/other")] == [again["endpoint"]["id"]]


async def test_nothing_sent_no_advice_and_the_url_credentials_are_never_shown(merchant):
    closed = f"http://robot:hunter2secret@127.0.0.1:{free_port()}"
    async with over_stdio("mcp", "--url", closed, "--key", merchant.key) as mcp:
        said = await refused(mcp, "inject_fault", fault="slow", path="/payouts")
        assert "nothing was sent" in said and "idempotency_key=" not in said and "hunter2" not in said
        assert "hunter2" not in await refused(mcp, "whoami")


async def test_whoami_names_the_merchant_of_a_key_and_hides_a_urls_password(stack, merchant):
    url = stack.base_url.replace("http://", "http://robot:hunter2secret@")
    async with over_stdio("mcp", "--url", url, "--key", merchant.key) as mcp:
        me = await call(mcp, "whoami")
        assert me["merchant"]["id"] == merchant.merchant_id
        assert "hunter2" not in json.dumps(me) and "robot" not in json.dumps(me)


async def test_a_payout_waiting_for_the_bank_is_explained_and_answered_cancelled_and_reinitiated(stack, worker):
    async with over_stdio(*admin(stack)) as mcp:
        await call(mcp, "new_merchant")
        waiting = (await call(mcp, "create_payout", account_suffix="0004"))["payout"]
        await call(mcp, "advance_clock", until_idle=True)
        why = await call(mcp, "explain_payout", payout_id=waiting["id"])
        assert why["next"]["waits_for"] == "the bank's callback"
        assert "send_bank_callback" in why["summary"] and "at the end of its scenario" not in why["summary"]
        sent = await call(mcp, "send_bank_callback", payout_id=waiting["id"], status="failed",
                          failure_code="account_closed")
        assert sent["status"] == "failed" and sent["payout_id"] == waiting["id"]

        async def failed():
            return (await call(mcp, "explain_payout", payout_id=waiting["id"]))["payout"]["status"] == "failed"

        await wait_for(failed, timeout=30, what="the bank's callback applied")
        again = await call(mcp, "reinitiate_payout", payout_id=waiting["id"], account_suffix="0001")
        assert again["payout"]["status"] == "pending"

        fresh = (await call(mcp, "create_payout", scenario="success"))["payout"]
        cancelled = await call(mcp, "cancel_payout", payout_id=fresh["id"], reason="changed my mind")
        assert cancelled["payout"]["status"] == "cancelled"
        assert "404" in await refused(mcp, "cancel_payout", payout_id="po_nothing_here")


async def test_what_the_agent_receives_is_bounded_resources_included(stack):
    async with over_stdio(*admin(stack)) as mcp:
        for resource in (await mcp.list_resources()).resources:
            [page] = (await mcp.read_resource(resource.uri)).contents
            assert len(getattr(page, "text", "").encode()) <= MAX_BYTES, resource.uri
        first = (await mcp.read_resource("mypay-sandbox://guides/benchmark-history")).contents[0]
        text, pages = getattr(first, "text", ""), 1
        while "the next is mypay-sandbox://" in text:
            nxt = text.rsplit("the next is ", 1)[1].rstrip("]\n ")
            text = getattr((await mcp.read_resource(nxt)).contents[0], "text", "")
            assert len(text.encode()) <= MAX_BYTES
            pages += 1
        assert pages > 5 and text.rstrip().endswith("the last]")
        # A tool's answer: text and structured content together (tests/mcp/client.py's `call` checks each).
        handle = (await call(mcp, "new_merchant"))["handle"]
        assert re.fullmatch(HANDLE_PATTERN, handle)
        await call(mcp, "create_payout", scenario="success", reference="r" * 64)
        [logged] = (await call(mcp, "list_requests", method="POST", path="/api/v1/payouts"))["data"]
        await call(mcp, "request_log", request_id=logged["id"])
