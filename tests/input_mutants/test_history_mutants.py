"""The history-mutant lane (.ci/history-mutants, docs/mutation-testing.md): the request log of
runs that hold the gate, recorded, then mutated and replayed as real requests against
fresh merchants of the running sandbox; the gate (POST /sandbox/gate) must fall short on
each mutant, in words that name why.

- safe retries: a payout whose answer `response_lost` took away, retried with the same
  idempotency key (held: "1 faulted write(s) recovered"). Mutants: the retry dropped; its
  body, key, merchant or path changed; moved past the key's 24-hour window (the key's
  expiry brought forward and pruned, as the worker's prune does a day later); the retry
  made a duplicate differing from the first only in case or whitespace;
- coverage: a `…0003` payout walked to the end of `failed_account_closed` (held). Mutants:
  its path replaced by a `simulate` to `failed` with another code, or with the same code."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Awaitable, Callable

import httpx
import pytest

from sandbox import db
from sandbox.idempotency import prune
from tests.helpers import Api, new_merchant, payout_body
from tests.input_mutants.report import GOAL, report

pytestmark = pytest.mark.skipif(not os.environ.get("SANDBOX_INPUT_MUTANTS"),
                                reason="an input-mutant lane: .ci/history-mutants runs it")
PREFIX = "/api/v1"


async def send(api: Api, step: dict) -> httpx.Response | None:
    headers = {**({"X-Idempotency-Key": step["key"]} if step["key"] else {}),
               **({"X-Sandbox-Fault": step["fault"]} if step["fault"] else {})}
    try:
        return await api.http.request(step["method"], step["path"].removeprefix(PREFIX),
                                      content=step["body"], headers={"Content-Type": "application/json", **headers})
    except httpx.TransportError:  # the fault took the answer away, as it does a client's
        return None


async def recorded(api: Api) -> list[dict]:
    """The merchant's request log, oldest first, as steps to replay."""
    entries = (await api.get("/sandbox/requests", params={"limit": 100})).json()["data"][::-1]
    return [{"method": e["method"], "path": e["path"], "body": e["request_body"], "key": e["idempotency_key"],
             "fault": e["fault"]} for e in entries if e["method"] == "POST" and e["route"] == PREFIX + "/payouts"]


async def verdict(api: Api, body: dict) -> dict:
    r = await api.http.post("/sandbox/gate", json=body)
    assert r.status_code == 200, r.text
    [requirement] = r.json()["merchants"][0]["requirements"]
    return requirement


RETRIES = {"require_safe_retries": True}


def _body(step: dict, change) -> dict:
    body = json.loads(step["body"])
    change(body)
    return {**step, "body": json.dumps(body)}


async def test_every_history_mutant_falls_short_in_words(stack, worker):
    fresh = []

    async def merchant() -> Api:
        api, _ = await new_merchant(stack)
        fresh.append(api)
        return api

    try:
        # The run that holds, recorded.
        base = await merchant()
        first = {"method": "POST", "path": PREFIX + "/payouts", "body": json.dumps(payout_body()),
                 "key": secrets.token_hex(8), "fault": "response_lost"}
        await send(base, first)
        await send(base, {**first, "fault": None})
        held = await verdict(base, RETRIES)
        assert held["held"], held
        faulted, retry = await recorded(base)
        assert faulted["fault"] == "response_lost" and retry["key"] == faulted["key"] and retry["fault"] is None

        async def past_the_window(api: Api, steps: list[dict]) -> None:
            await send(api, steps[0])
            await db.execute("UPDATE idempotency_key SET expires_at = now() - interval '1 second' WHERE key = $1",
                             steps[0]["key"])
            await prune.prune_expired()
            await send(api, steps[1])

        async def under_another_merchant(api: Api, steps: list[dict]) -> None:
            await send(api, steps[0])
            await send(await merchant(), steps[1])

        def titled(body: dict) -> None:
            body["destination"]["account_title"] = "  ALI   RAZA "

        def bank_code(body: dict) -> None:
            body["destination"]["bank_code"] = body["destination"]["bank_code"].lower()

        new_key = {"key": secrets.token_hex(8)}
        retry_mutants: dict[str, tuple[list[dict] | Callable[[Api, list[dict]], Awaitable[None]], str]] = {
            # name: (the steps, or a player of them; words the gate's reason must hold)
            "retry dropped": ([faulted], "never tested"),
            "retry's body changed": ([faulted, _body(retry, lambda b: b.__setitem__("amount", "1501.00"))],
                                     "never tested"),
            "retry's key changed": ([faulted, {**retry, **new_key}], "paid twice"),
            "retry's path changed": ([faulted, {**retry, "path": retry["path"] + "?from=retry"}], "never tested"),
            "retry under another merchant's key": (under_another_merchant, "never tested"),
            "retry past the key's window": (past_the_window, "paid twice"),
            "duplicate differing in the title's case and spaces": (
                [faulted, _body({**retry, "key": secrets.token_hex(8)}, titled)], "paid twice"),
            # The API refuses a bank code in lower case (422): no second payment is made, and the
            # faulted write is still not recovered.
            "duplicate differing in the bank code's case": (
                [faulted, _body({**retry, "key": secrets.token_hex(8)}, bank_code)], "never tested"),
        }
        killed, survived, words = [], [], {}
        for name, (steps, expected) in retry_mutants.items():
            api = await merchant()
            if callable(steps):
                await steps(api, [faulted, retry])
            else:
                for step in steps:
                    await send(api, {**step, "key": step["key"] and f"{step['key']}-{len(fresh)}"}
                               if step is not retry or name != "retry's key changed" else step)
            said = await verdict(api, RETRIES)
            words[name] = said["reason"]
            (killed if not said["held"] and expected in said["reason"] else survived).append(name)

        # Coverage: the run that holds, then its path replaced by a simulate.
        async def walked(code: str | None) -> dict:
            r = await stack_admin.post("/sandbox/merchants", {"name": "history", "opening_balance": "100000.00",
                                                              "clock": "manual"})
            made = r.json()
            api = Api(stack.base_url, made["api_key"])
            fresh.append(api)
            payout = (await api.post("/payouts", payout_body(account="12345678900003"))).json()
            if code is None:
                assert (await api.post("/sandbox/clock/advance", {"until": "idle"})).status_code == 200
            else:
                for _ in range(20):  # step by step until the rail has it, then the bank is made to answer
                    if (await api.get(f"/payouts/{payout['id']}")).json()["psp_reference"]:
                        break
                    assert (await api.post("/sandbox/clock/advance", {"seconds": 0})).status_code == 200
                    clock = (await api.get("/sandbox/clock")).json()
                    seconds = max(0.0, _seconds(clock))
                    assert (await api.post("/sandbox/clock/advance", {"seconds": seconds})).status_code == 200
                r = await api.post(f"/sandbox/payouts/{payout['id']}/simulate",
                                   {"status": "failed", "failure_code": code})
                assert r.status_code == 202, r.text
                for _ in range(200):
                    if (await api.get(f"/payouts/{payout['id']}")).json()["status"] == "failed":
                        break
                    await api.post("/sandbox/clock/advance", {"seconds": 0})
            return await verdict(api, {"require_coverage": ["failed_account_closed"]})

        stack_admin = Api(stack.base_url, stack.admin_key)
        fresh.append(stack_admin)
        held = await walked(None)
        assert held["held"], held
        for code in ("invalid_account", "account_closed"):
            name = f"the path replaced by a simulate to failed with {code}"
            said = await walked(code)
            words[name] = said["reason"]
            (killed if not said["held"] and "simulated to" in said["reason"] else survived).append(name)
    finally:
        for api in fresh:
            await api.aclose()
    rate = report("history mutants", killed, survived, {}, {n: f"the gate said: {words[n]}" for n in survived},
                  {n: f"the gate said: {words[n]}" for n in killed})
    assert rate >= GOAL, {n: words[n] for n in survived}


def _seconds(clock: dict) -> float:
    from datetime import datetime

    if not clock.get("next_step_at"):
        return 0.0
    return (datetime.fromisoformat(clock["next_step_at"]) - datetime.fromisoformat(clock["time"])).total_seconds()
