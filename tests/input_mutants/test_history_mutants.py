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
from tests.batches.helpers import wait_completed
from tests.helpers import Api, new_merchant, payout_body, reaches, wait_for
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


# -- every route that can pay, and a cancel: a lost answer on each ------------------------

async def _lost(api: Api, method: str, path: str, body: dict | None = None, key: str | None = None) -> None:
    await send(api, {"method": method, "path": PREFIX + path, "body": json.dumps(body or {}),
                     "key": key or secrets.token_hex(8), "fault": "response_lost"})


async def _again(api: Api, method: str, path: str, body: dict | None = None, key: str | None = None) -> dict:
    r = await send(api, {"method": method, "path": PREFIX + path, "body": json.dumps(body or {}),
                         "key": key or secrets.token_hex(8), "fault": None})
    assert r is not None and r.status_code < 500, r
    return r.json()


async def _batch(api: Api, rows: list[dict], key: str, lost: bool) -> str:
    """A JSON batch of `rows` under `key` (its answer lost when `lost`), made by the worker:
    its id, read from the request log as a client reading back would not."""
    await (_lost if lost else _again)(api, "POST", "/payout-batches", {"items": rows}, key)
    [entry] = (await api.get("/sandbox/requests", params={"idempotency_key": key, "limit": 1})).json()["data"]
    [batch_id] = entry["object_ids"]
    await wait_completed(api, batch_id)
    return batch_id


async def _logged(api: Api, payout_id: str) -> None:
    """The reads so far in the log: a read's entry is written a moment after its answer, so
    one that waited for a status could otherwise land after the faulted write that follows."""
    rid = (await api.get(f"/payouts/{payout_id}")).headers["X-Request-ID"]

    async def found() -> bool:
        return (await api.get(f"/sandbox/requests/{rid}")).status_code == 200
    await wait_for(found, what=f"request {rid} in the log")


async def _failed(api: Api, body: dict) -> str:
    made = (await api.post("/payouts", body)).json()
    await reaches(api, made["id"], "failed")
    await _logged(api, made["id"])
    return made["id"]


ROW = payout_body(amount="2500.00")
FAILING = payout_body(amount="2500.00", account="12345678900003")
CORRECTED = payout_body(amount="2500.00")["destination"]


async def batch_upload(api: Api, mutant: str | None) -> None:
    key = secrets.token_hex(8)
    await _batch(api, [ROW], key, lost=True)
    if mutant is None:
        await _again(api, "POST", "/payout-batches", {"items": [ROW]}, key)  # the same key: the stored answer
    elif mutant == "uploaded again under a new key":
        await _batch(api, [ROW], secrets.token_hex(8), lost=False)
    elif mutant == "its row paid again as a single payout":
        await _again(api, "POST", "/payouts", ROW)


async def batch_retry(api: Api, mutant: str | None) -> None:
    batch_id = await _batch(api, [FAILING], secrets.token_hex(8), lost=False)
    [item] = (await api.get(f"/payout-batches/{batch_id}/items")).json()["data"]
    await reaches(api, item["payout_id"], "failed")
    await _logged(api, item["payout_id"])
    key = secrets.token_hex(8)
    await _lost(api, "POST", f"/payout-batches/{batch_id}/retry", None, key)
    if mutant is None:
        await _again(api, "GET", f"/payout-batches/{batch_id}")
    elif mutant == "its failed row paid again as a single payout":
        await _again(api, "POST", "/payouts", FAILING)
    elif mutant == "retry dropped":
        pass


async def reinitiation(api: Api, mutant: str | None) -> None:
    payout_id = await _failed(api, FAILING)
    await _lost(api, "POST", f"/payouts/{payout_id}/reinitiate", {"destination": CORRECTED})
    await _again(api, "GET", f"/payouts/{payout_id}")  # read back: a recovery, alone
    if mutant == "the corrected account paid by a new payout":
        await _again(api, "POST", "/payouts", {**FAILING, "destination": CORRECTED})


async def cancel(api: Api, mutant: str | None) -> None:
    # A payout in review stays cancellable whatever the worker does.
    payout_id = (await api.post("/payouts", payout_body(amount="150000.00"))).json()["id"]
    key = secrets.token_hex(8)
    await _lost(api, "POST", f"/payouts/{payout_id}/cancel", None, key)
    if mutant is None:
        await _again(api, "POST", f"/payouts/{payout_id}/cancel", None, key)
    elif mutant == "retried under a new key":  # refused (409: cancelled already): no recovery
        await _again(api, "POST", f"/payouts/{payout_id}/cancel")


PAYING_HISTORIES: dict[str, tuple[Callable[[Api, str | None], Awaitable[None]], dict[str, str]]] = {
    # history: (its player, held with None or mutated by name; each mutant and the words the gate must say)
    "a batch's upload": (batch_upload, {"uploaded again under a new key": "paid twice",
                                        "its row paid again as a single payout": "paid twice"}),
    "a batch's retry": (batch_retry, {"its failed row paid again as a single payout": "paid twice",
                                      "retry dropped": "never tested"}),
    "a reinitiation": (reinitiation, {"the corrected account paid by a new payout": "paid twice"}),
    "a cancel": (cancel, {"retried under a new key": "never tested"}),
}


STRUCK = {  # the route each history's lost answer strikes, as the request log names it
    "a batch's upload": ("POST", PREFIX + "/payout-batches"),
    "a batch's retry": ("POST", PREFIX + "/payout-batches/{batch_id}/retry"),
    "a reinitiation": ("POST", PREFIX + "/payouts/{payout_id}/reinitiate"),
    "a cancel": ("POST", PREFIX + "/payouts/{payout_id}/cancel"),
}


async def test_a_lost_answer_on_every_paying_route_and_a_cancel_falls_short_in_words(stack, worker):
    killed, survived, words = [], [], {}
    for history, (play, mutated) in PAYING_HISTORIES.items():
        api, _ = await new_merchant(stack)
        try:
            await play(api, None)
            held = await verdict(api, RETRIES)
            assert held["held"], (history, held)
        finally:
            await api.aclose()
        for mutant, expected in mutated.items():
            api, _ = await new_merchant(stack)
            try:
                await play(api, mutant)
                said = await verdict(api, RETRIES)
            finally:
                await api.aclose()
            name = f"{history}: {mutant}"
            words[name] = said["reason"]
            (killed if not said["held"] and expected in said["reason"] else survived).append(name)
    said_by = {n: f"the gate said: {words[n]}" for n in words}
    rate = report("history mutants (a lost answer on each paying route, a cancel)", killed, survived, {},
                  {n: said_by[n] for n in survived}, {n: said_by[n] for n in killed})
    assert rate >= GOAL, {n: words[n] for n in survived}
