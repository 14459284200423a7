"""`sandbox mcp` over stdio, driven by the SDK's ClientSession as a coding agent's host
drives it: a fresh merchant on a manual clock, a payout walked to `returned` and
explained, a receiver registered, its deliveries and its audit read, and the gate."""

from __future__ import annotations

import json

from tests.helpers import wait_for
from tests.mcp.client import Transcript, call, over_stdio, refused
from tests.webhooks.receiver import Receiver

TOOLS = {"whoami", "new_merchant", "scenarios", "failure_codes", "create_payout", "list_payouts", "advance_clock",
         "explain_payout", "register_webhook_endpoint", "list_webhook_endpoints", "webhook_deliveries",
         "resend_event", "audit_webhook_receiver", "request_log", "list_requests", "inject_fault", "retry_verdict",
         "coverage", "gate", "forget_merchant", "cancel_payout", "reinitiate_payout", "send_bank_callback"}


async def test_an_agent_walks_a_payout_to_returned_and_is_told_why(stack, worker):
    receiver = await Receiver().start()
    said = Transcript()
    try:
        async with over_stdio("mcp", "--url", stack.base_url, "--admin-key", stack.admin_key) as mcp:
            assert {t.name for t in (await mcp.list_tools()).tools} == TOOLS

            me = await call(mcp, "whoami", said)
            assert me["mode"] == "admin" and me["merchant"] is None
            made = await call(mcp, "new_merchant", said, clock="manual")
            assert made["api_key"].startswith("kept by the server")  # the key is not echoed unasked
            assert (await call(mcp, "whoami"))["merchant"]["clock"]["kind"] == "manual"

            endpoint = (await call(mcp, "register_webhook_endpoint", said, url=receiver.url()))["endpoint"]
            assert endpoint["secret"].startswith("whsec_")

            payout = (await call(mcp, "create_payout", said, account_suffix="0006"))["payout"]
            assert payout["scenario"] == "success_then_returned" and payout["status"] == "pending"
            # A manual clock: nothing moves until the agent moves it.
            waiting = await call(mcp, "explain_payout", said, payout_id=payout["id"])
            assert waiting["next"]["status"] == "processing" and "advance_clock" in waiting["next"]["when"]

            # An event sent again: a new delivery of the same event id, which the receiver acknowledges too.
            # (Before the clock moves: a resend is scheduled at the merchant's clock time, which an
            # advance puts ahead of real time.)
            first_event = waiting["events"][0]["id"]
            again = await call(mcp, "resend_event", said, event_id=first_event, endpoint_id=endpoint["id"])
            assert again["event_id"] == first_event and again["deliveries"][0]["resend"] is True

            async def resent():
                seen = await call(mcp, "webhook_deliveries", event_id=first_event)
                return [d for d in seen["events"][0]["deliveries"] if d["resend"] and d["status"] == "succeeded"]

            await wait_for(resent, what="the resent delivery acknowledged")
            step = await call(mcp, "advance_clock", said, one_step=True)
            assert [(t["from"], t["to"]) for t in step["transitions"]] == [("pending", "processing")]
            rest = await call(mcp, "advance_clock", said, until_idle=True)
            assert rest["idle"] and rest["transitions"][-1]["to"] == "returned"

            why = await call(mcp, "explain_payout", said, payout_id=payout["id"])
            assert [w["status"] for w in why["walked"]] == ["pending", "processing", "success", "returned"]
            assert why["scenario"]["path"] == ["pending", "processing", "success", "returned"]
            assert why["failure"]["code"] and why["failure"]["iso_reason"] and why["failure"]["what_to_do"]
            assert [e["sequence"] for e in why["events"]] == list(range(1, len(why["events"]) + 1))
            assert why["events"][0]["caused_by"].startswith("request ")  # the create; the rest the clock's
            assert why["next"]["status"] is None
            assert why["failure"]["iso_reason"] in why["summary"] and "returned" in why["summary"]

            # Webhook delivery is real time: wait for the receiver's answers to be logged, every
            # event's (the last event's delivery is made by the relay a moment after the event).
            async def acknowledged():
                seen = await call(mcp, "webhook_deliveries", payout_id=payout["id"])
                return seen if len(seen["events"]) == len(why["events"]) and all(
                    e["deliveries"] and all(d["status"] == "succeeded" and d["attempts"] for d in e["deliveries"])
                    for e in seen["events"]) else None

            seen = await wait_for(acknowledged, what="every event of the payout delivered")
            said.add("webhook_deliveries", {"payout_id": payout["id"]}, f"{len(seen['events'])} events, each "
                     "delivered: " + ", ".join(f"{e['type']} {e['deliveries'][0]['attempts'][0]['status_code']}"
                                               for e in seen["events"]))

            [listed] = (await call(mcp, "list_webhook_endpoints"))["data"]
            assert listed["id"] == endpoint["id"] and "secret" not in listed

            # The receiver answers 200 to anything: the audit names what it failed to refuse.
            audit = await call(mcp, "audit_webhook_receiver", said, endpoint_id=endpoint["id"])
            assert not audit["passed"] and "failed" in audit["summary"]
            assert any(not c["passed"] and c["expected"] == "4xx" for c in audit["cases"])

            verdict = await call(mcp, "gate", said, require_coverage="all")
            assert not verdict["held"] and "FELL SHORT" in verdict["words"]
            [requirement] = verdict["verdict"]["merchants"][0]["requirements"]
            assert "success_then_returned" not in requirement["missing"] and requirement["missing"]
            # Names, as a list as POST /sandbox/gate takes them: the walked scenario held, the path not taken.
            named = await call(mcp, "gate", said, require_coverage=["success_then_returned", "cancel"])
            [requirement] = named["verdict"]["merchants"][0]["requirements"]
            assert not named["held"] and requirement["missing"] == ["cancel"], requirement
            refused = await mcp.call_tool("gate", {"require_coverage": "success_then_returned,cancel"})
            assert refused.is_error and "require_coverage: must be one of 'all', or must be a list" in \
                refused.content[0].text  # type: ignore[union-attr]
            empty = await mcp.call_tool("gate", {"require_coverage": [" "]})  # never a pass for nothing asked
            assert empty.is_error and "names no scenario" in empty.content[0].text  # type: ignore[union-attr]
    finally:
        await receiver.stop()
        said.save()


async def test_the_request_log_and_the_retry_verdict_name_the_agents_requests(stack):
    async with over_stdio("mcp", "--url", stack.base_url, "--admin-key", stack.admin_key) as mcp:
        await call(mcp, "new_merchant", clock="manual")
        payout = (await call(mcp, "create_payout", scenario="success"))["payout"]
        [logged] = (await call(mcp, "list_requests", method="POST", path="/api/v1/payouts"))["data"]
        assert payout["id"] in logged["object_ids"]
        full = (await call(mcp, "request_log", request_id=logged["id"]))["request"]
        assert full["route"] == "/api/v1/payouts" and full["status"] == 201
        assert (await call(mcp, "retry_verdict"))["summary"] == "no write got an after-commit fault yet"
        # A secret the API handed out is redacted in the log as the API redacts it.
        secret = (await call(mcp, "register_webhook_endpoint", url="http://127.0.0.1:9/hook"))["endpoint"]["secret"]
        [made] = (await call(mcp, "list_requests", path="/api/v1/webhook-endpoints"))["data"]
        logged = (await call(mcp, "request_log", request_id=made["id"]))["request"]
        assert secret.startswith("whsec_") and secret not in json.dumps(logged) and "whsec_" in logged["response_body"]
        text = await refused(mcp, "retry_verdict", request_id=logged["id"])
        assert "no faulted write on request" in text


async def test_a_lost_answer_names_its_key_and_asking_again_with_it_is_a_recovery_not_a_second_payout(stack):
    async with over_stdio("mcp", "--url", stack.base_url, "--admin-key", stack.admin_key) as mcp:
        await call(mcp, "new_merchant", clock="manual")
        rule = (await call(mcp, "inject_fault", fault="response_lost", path="/payouts"))["rule"]
        assert rule["fault"] == "response_lost"
        lost = await refused(mcp, "create_payout", scenario="success")
        key = lost.split("idempotency_key=")[1].split()[0]
        again = (await call(mcp, "create_payout", scenario="success", idempotency_key=key))["payout"]
        assert [p["id"] for p in (await call(mcp, "list_payouts"))["data"]] == [again["id"]]
        verdict = await call(mcp, "retry_verdict")
        assert ("response_lost: 1 faulted write(s), 1 recovered, 0 duplicated, 0 open, 0 on requests that wrote "
                "nothing") in verdict["summary"]
        [lost_request] = [c["request_id"] for k in verdict["faults"] for c in k["cases"]]
        [case] = (await call(mcp, "retry_verdict", request_id=lost_request))["cases"]
        assert (case["kind"], case["verdict"], case["payout_id"]) == ("response_lost", "recovered", again["id"])


async def test_bad_input_is_an_mcp_error_in_words(stack):
    async with over_stdio("mcp", "--url", stack.base_url, "--admin-key", stack.admin_key) as mcp:
        assert "new_merchant first" in await refused(mcp, "scenarios")
        await call(mcp, "new_merchant", clock="live")
        assert "account_suffix" in await refused(mcp, "create_payout", account_suffix="12")
        assert "one of them" in await refused(mcp, "create_payout")
        assert "no scenario 'nope'" in await refused(mcp, "create_payout", scenario="nope")
        # The API's own refusal, in its words (RFC 9457 title and code).
        assert "404" in await refused(mcp, "explain_payout", payout_id="po_nothing_here")
        assert "live" in (await refused(mcp, "advance_clock", seconds=5)).lower()
        assert "nothing to judge" in await refused(mcp, "gate")
        assert "payout_id" in await refused(mcp, "explain_payout", payout_id="../admin/payouts")


async def test_started_with_a_merchants_key_it_acts_as_that_merchant_only(stack, merchant):
    async with over_stdio("mcp", "--url", stack.base_url, "--key", merchant.key) as mcp:
        me = await call(mcp, "whoami")
        assert me["mode"] == "merchant" and "the one merchant whose key" in me["says"]
        assert "admin key" in await refused(mcp, "new_merchant")
        assert (await call(mcp, "create_payout", scenario="success"))["payout"]["status"] == "pending"
