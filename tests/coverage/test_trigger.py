"""`sandbox trigger`: a payout made for a scenario, narrated until it rests."""

from __future__ import annotations

import asyncio

from sandbox.cli import main
from tests.webhooks.receiver import Receiver


async def run_cli(capsys, *argv: str) -> tuple[int, str]:
    code = await asyncio.to_thread(main, list(argv))  # the API serves in this event loop meanwhile
    return code, capsys.readouterr().out


async def test_list_prints_every_scenario(stack, merchant, capsys):
    code, out = await run_cli(capsys, "trigger", "--list", "--key", merchant.key, "--url", stack.base_url)
    assert code == 0
    assert any(line.split() == ["retry_then_success", "…0002", "pending", "→", "processing", "→", "retrying", "→",
                                "processing", "→", "success"] for line in out.splitlines())
    assert "rail_timeout" in out and "in_review" in out


async def test_follows_transitions_and_webhooks_to_the_end(stack, merchant, worker, capsys):
    receiver = await Receiver().start()
    try:
        r = await merchant.post("/webhook-endpoints", {"url": receiver.url(), "events": ["*"],
                                                        "signing": "hmac-sha256"})
        assert r.status_code == 201
        code, out = await run_cli(capsys, "trigger", "retry_then_success", "--key", merchant.key,
                                  "--url", stack.base_url)
    finally:
        await receiver.stop()
    assert code == 0, out
    lines = out.splitlines()
    moves = [line.split("status", 1)[1].split("(")[0].strip() for line in lines if "  status  " in line]
    assert moves == ["pending", "pending → processing", "processing → retrying", "retrying → processing",
                     "processing → success"]
    webhooks = [line.split()[2] for line in lines if "  webhook  " in line]
    assert webhooks == ["payout.created", "payout.processing", "payout.retrying", "payout.processing",
                        "payout.success"]
    assert lines[-1] == "ended success"


async def test_a_payout_that_waits_for_the_bank_says_what_to_do(stack, merchant, worker, capsys):
    code, out = await run_cli(capsys, "trigger", "awaiting_ipn", "--key", merchant.key, "--url", stack.base_url)
    assert code == 0, out
    last = out.splitlines()[-1]
    assert last.startswith("ended pending; it waits for the bank: POST /api/v1/sandbox/payouts/po_")
    assert last.endswith('/simulate {"status": "success"} (or "failed") with this key')


async def test_a_scenario_of_the_merchants_own_is_listed_and_followed_by_name(stack, merchant, worker, capsys):
    r = await merchant.post("/sandbox/scenarios", {
        "name": "declined_after_a_retry", "title": "Declined after a retry",
        "steps": [{"status": "processing", "submit": True}, {"status": "retrying", "reason": "bank offline"},
                  {"status": "processing"}, {"status": "failed", "failure_code": "declined"}]})
    assert r.status_code == 201, r.text
    code, out = await run_cli(capsys, "trigger", "--list", "--key", merchant.key, "--url", stack.base_url)
    assert code == 0
    assert any(line.split()[:3] == ["declined_after_a_retry", "by", "name"] and line.endswith("(yours)")
               for line in out.splitlines()), out
    assert all(line.strip() for line in out.splitlines()), out  # made without a description: no blank line for it
    code, out = await run_cli(capsys, "trigger", "declined_after_a_retry", "--key", merchant.key,
                              "--url", stack.base_url)
    assert code == 0, out
    moves = [line.split("status", 1)[1].split("(")[0].strip() for line in out.splitlines() if "  status  " in line]
    assert moves == ["pending", "pending → processing", "processing → retrying", "retrying → processing",
                     "processing → failed"]
    assert "scenario declined_after_a_retry" in out.splitlines()[0]
    assert out.splitlines()[-1].startswith("ended failed; it can be tried again")
