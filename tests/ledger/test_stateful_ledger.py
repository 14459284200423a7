"""A Hypothesis state machine against the live API: for one fresh merchant per example,
random payouts (small, in review, all of the balance, more than available, to any
scenario suffix, with new or reused references), cancels, top-ups, admin approve /
reject / release, reinitiations, simulated rail outcomes and idempotent replays. After
every step:

- GET /balance equals what the money rules give for the payouts' current statuses
  (a payout holds its amount in `locked` while in flight; success spends it; failed,
  rejected and cancelled give it back to `available`; returned gives back after success)
  and the money paid in (opening balance + top-ups), to the paisa;
- the ledger invariant holds (`check_invariant`, through the app's own pool);
- the feed GET /balance/history?since_seq=0 is gapless, sums per bucket to the balance,
  and holds for each payout exactly the entries its status history calls for;
- every payout's status history is a walk the state machine (`NEXT`) allows.

The expected balance is derived from the statuses the API reports, so the machine holds
whether or not the worker is moving payouts meanwhile: the first test runs with the API
alone, the second with the arq worker and the IPN service, so scenarios really advance
(retries, failures, holds, returns) while the machine acts. When the worker may move a
payout between our look and our request, both outcomes its possible statuses allow are
accepted; outcomes no reachable status allows fail the test.

The API is served by uvicorn inside the session event loop, so the machine runs in a
worker thread (`asyncio.to_thread`) with a synchronous httpx client, and hands the
database check back to that loop with `run_coroutine_threadsafe`."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import Counter
from dataclasses import dataclass

import httpx
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from sandbox import db
from sandbox.client.blocking import tls
from sandbox.core.money import format_amount, parse_amount
from sandbox.ledger import service as ledger
from sandbox.payouts.lifecycle import engine, schedule
from sandbox.payouts.model import scenarios, states
from sandbox.payouts.model.destinations import iban_check_digits
from tests.helpers import new_merchant, payout_body

REVIEW_MIN = scenarios.table().review_min_minor  # 100,000.00
SUFFIXES = [f"{i:04d}" for i in range(1, 10)]  # 0001..0007 are scenarios, 0008/0009 the default
FEED_LIMIT = 1000

# The money rules: statuses whose amount is still locked, and what each move does to the
# merchant's buckets (as (bucket, sign) legs of one ledger transaction).
HOLDING = frozenset({"in_review", "pending", "processing", "retrying", "on_hold"})
CREATED_LEGS = (("available", -1), ("locked", +1))
LEGS_ON_ENTER = {
    "success": (("locked", -1),),
    "failed": (("available", +1), ("locked", -1)),
    "rejected": (("available", +1), ("locked", -1)),
    "cancelled": (("available", +1), ("locked", -1)),
    "returned": (("available", +1),),
}
REINITIATED_LEGS = (("available", -1), ("locked", +1))  # failed → pending

# Moves the worker, the rail and the IPN service make without a request from us.
BY_ITSELF = {
    "pending": {"processing", "on_hold", "success", "failed"},
    "processing": {"retrying", "success", "failed"},
    "retrying": {"processing"},
    "success": {"returned"},
}
CANCELLABLE = {"in_review", "on_hold", "pending"}  # pending only until submitted to the rail
SIMULATE_FROM = {"success": {"pending", "processing"}, "failed": {"pending", "processing"}, "returned": {"success"}}


def reachable(status: str, worker: bool) -> set[str]:
    """The statuses a payout may be in by the time our request reaches it."""
    seen, todo = {status}, [status]
    while worker and todo:
        for nxt in BY_ITSELF.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def minor(signed: str) -> int:
    magnitude = parse_amount(signed.removeprefix("-"), allow_zero=True)
    return -magnitude if signed.startswith("-") else magnitude


def amount_text(amount: int, style: int) -> str:
    """The same amount written the ways a client may: '1500.00', '1500.5', '1500'."""
    text = format_amount(amount)
    if style == 1 and text.endswith("0"):
        return text[:-1]
    if style == 2 and text.endswith(".00"):
        return text[:-3]
    return text


def destination(kind: str, suffix: str) -> tuple[dict, str]:
    """A valid destination whose number ends in `suffix`, and that number."""
    if kind == "wallet":
        number = "0300123" + suffix
        return {"type": "wallet", "wallet_code": "JAZZCASH", "account_number": number}, number
    if kind == "iban":
        bban = "MEZN" + "000000112345" + suffix
        number = "PK" + iban_check_digits("PK", bban) + bban
        return {"type": "bank", "iban": number, "account_title": "Sana Khan"}, number
    number = "1234567890" + suffix
    return {"type": "bank", "bank_code": "UBL", "account_number": number, "account_title": "Ali Raza"}, number


def expected_legs(amount: int, history: list[str]) -> list[list[tuple[str, int]]]:
    """The ledger transactions a payout with this status history must have, oldest first."""
    out = [sorted((b, s * amount) for b, s in CREATED_LEGS)]
    for before, after in zip(history, history[1:], strict=False):
        legs = REINITIATED_LEGS if (before, after) == ("failed", "pending") else LEGS_ON_ENTER.get(after, ())
        if legs:
            out.append(sorted((b, s * amount) for b, s in legs))
    return out


@dataclass
class Seen:
    """One payout as the API last reported it."""

    amount: int
    status: str
    psp_reference: str | None
    scenario: str
    history: list[str]


@dataclass
class Snapshot:
    payouts: dict[str, Seen]
    balance: dict
    feed: list[dict]


def make_machine(base_url: str, admin_key: str, loop: asyncio.AbstractEventLoop,
                 worker: bool) -> type[RuleBasedStateMachine]:
    def on_loop(coro):
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=30)

    class LedgerMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.http = httpx.Client(verify=tls(), base_url=base_url + "/api/v1", timeout=30)
            self.admin = httpx.Client(verify=tls(), base_url=base_url + "/api/v1", timeout=30,
                                      headers={"X-API-KEY": admin_key})
            self.merchant_id = ""
            self.funded = 0  # opening balance + top-ups
            self.ids: list[str] = []
            self.references: set[str] = set()
            self.last_write: tuple[httpx.Client, str, dict, str, httpx.Response] | None = None

        def teardown(self) -> None:
            self.http.close()
            self.admin.close()

        def post(self, path: str, body: dict, *, client: httpx.Client | None = None) -> httpx.Response:
            client = client or self.http
            key = secrets.token_hex(16)
            r = client.post(path, json=body, headers={"X-Idempotency-Key": key})
            self.last_write = (client, path, body, key, r)
            return r

        def payouts(self) -> dict[str, Seen]:
            r = self.http.get("/payouts", params={"limit": 100})
            assert r.status_code == 200, r.text
            page = r.json()
            assert page["has_more"] is False
            return {p["id"]: Seen(parse_amount(p["amount"]), p["status"], p["psp_reference"], p["scenario"],
                                  [h["status"] for h in p["status_history"]]) for p in page["data"]}

        def snapshot(self) -> Snapshot:
            """Payouts, balance and feed as of one moment: read the payouts before and
            after, and again until nothing moved in between (balance and status change
            in one transaction, so equal histories around the reads make them agree)."""
            deadline = time.monotonic() + 20
            while True:
                before = self.payouts()
                r = self.http.get("/balance")
                assert r.status_code == 200, r.text
                f = self.http.get("/balance/history", params={"since_seq": 0, "limit": FEED_LIMIT})
                assert f.status_code == 200, f.text
                assert f.json()["has_more"] is False
                after = self.payouts()
                if {i: p.history for i, p in before.items()} == {i: p.history for i, p in after.items()}:
                    return Snapshot(after, r.json(), f.json()["data"])
                assert time.monotonic() < deadline, "payouts kept moving for 20 s"
                time.sleep(0.02)

        def pick(self, data, fits: set[str]) -> tuple[str, Seen]:
            """A payout, more often one whose status allows the action than chance would give.
            The draws are the same whatever the worker did meanwhile (always a boolean, then
            an index), so Hypothesis can replay and shrink a failing run: drawing from a list
            whose length depends on the worker made it report FlakyStrategyDefinition."""
            seen = self.payouts()
            fitting = sorted(i for i, p in seen.items() if p.status in fits)
            prefer = data.draw(st.booleans(), label="prefer a fitting payout")
            index = data.draw(st.integers(min_value=0, max_value=10_000), label="payout index")
            pool = fitting if fitting and prefer else self.ids
            payout_id = pool[index % len(pool)]
            return payout_id, seen[payout_id]

        def check_outcome(self, r: httpx.Response, seen: Seen, allowed: set[str], ok_status: int,
                          extra_refusals: dict[int, str] | None = None) -> bool:
            """The answer to an action allowed from `allowed`, given the payout was `seen`
            just before: success if a status it may now be in allows it, 409 invalid_state
            if one does not. Returns whether the action was applied."""
            possible = reachable(seen.status, worker)
            if r.status_code == ok_status:
                assert possible & allowed, (seen, r.text)
                return True
            if extra_refusals and r.status_code in extra_refusals:
                assert r.json()["code"] == extra_refusals[r.status_code], r.text
                return False
            assert r.status_code == 409, (seen, r.text)
            assert r.json()["code"] == "invalid_state", r.text
            assert possible - allowed, (seen, r.text)
            return False

        # --- rules -----------------------------------------------------------------------

        @initialize(opening=st.integers(min_value=0, max_value=REVIEW_MIN * 10))
        def new_merchant(self, opening: int) -> None:
            r = self.admin.post("/sandbox/merchants",
                                json={"name": "stateful", "opening_balance": format_amount(opening)},
                                headers={"X-Idempotency-Key": secrets.token_hex(16)})
            assert r.status_code == 201, r.text
            body = r.json()
            self.merchant_id = body["merchant"]["id"]
            self.http.headers["X-API-KEY"] = body["api_key"]
            self.funded = opening

        @rule(data=st.data(), kind=st.sampled_from(["bank", "iban", "wallet"]), suffix=st.sampled_from(SUFFIXES),
              size=st.sampled_from(["small", "review", "all", "over"]), style=st.integers(0, 2),
              ref=st.sampled_from(["none", "new", "reuse"]))
        def create_payout(self, data, kind: str, suffix: str, size: str, style: int, ref: str) -> None:
            # The worker only ever gives funds back, so what we see is a lower bound.
            available = minor(self.http.get("/balance").json()["available"])
            if size == "small":
                amount = data.draw(st.integers(min_value=1, max_value=REVIEW_MIN - 1), label="amount")
            elif size == "review":
                amount = data.draw(st.integers(min_value=REVIEW_MIN, max_value=REVIEW_MIN * 3), label="amount")
            elif size == "all":
                amount = max(available, 1)
            else:
                amount = available + data.draw(st.integers(min_value=1, max_value=REVIEW_MIN), label="excess")
            dest, number = destination(kind, suffix)
            body = {"amount": amount_text(amount, style), "currency": "PKR", "destination": dest}
            if ref == "new":
                body["reference"] = f"order-{len(self.references) + 1}"
            elif ref == "reuse":  # an index, drawn always: which references exist may depend on the worker
                index = data.draw(st.integers(min_value=0, max_value=10_000), label="reference index")
                if self.references:
                    used = sorted(self.references)
                    body["reference"] = used[index % len(used)]
            r = self.post("/payouts", body)
            duplicate = body.get("reference") in self.references
            if duplicate or amount > available:
                refusals = {"duplicate_reference"} if duplicate else set()
                if amount > available:
                    refusals.add("insufficient_funds")
                    if not duplicate and r.status_code == 201:
                        refusals = set()  # the worker freed enough meanwhile
                if refusals:  # either answer is right when both apply; nothing may move
                    assert r.status_code in (409, 422), r.text
                    assert r.json()["code"] in refusals, r.text
                    return
            assert r.status_code == 201, r.text
            p = r.json()
            status = "in_review" if amount >= REVIEW_MIN else "pending"
            assert p["status"] == status
            assert p["amount"] == format_amount(amount)
            assert p["scenario"] == scenarios.table().for_account(number).name
            assert [h["status"] for h in p["status_history"]] == [status]
            assert p["reference"] == body.get("reference")
            if "reference" in body:
                self.references.add(body["reference"])
            self.ids.append(p["id"])

        @rule(data=st.data())
        def cancel(self, data) -> None:
            if not self.ids or data.draw(st.integers(0, 9), label="unknown id") == 7:
                r = self.post("/payouts/po_does_not_exist/cancel", {})
                assert r.status_code == 404, r.text
                assert r.json()["code"] == "not_found"
                return
            payout_id, seen = self.pick(data, CANCELLABLE)
            r = self.post(f"/payouts/{payout_id}/cancel", {"reason": "changed my mind"})
            allowed = {"in_review", "on_hold"} | ({"pending"} if seen.psp_reference is None else set())
            if self.check_outcome(r, seen, allowed, 200):
                assert r.json()["status"] == "cancelled"

        @precondition(lambda self: self.ids)
        @rule(data=st.data(), action=st.sampled_from(["approve", "reject", "release"]))
        def admin_decides(self, data, action: str) -> None:
            allowed, after = {"approve": ({"in_review"}, "pending"), "reject": ({"in_review", "on_hold"}, "rejected"),
                              "release": ({"on_hold"}, "processing")}[action]
            payout_id, seen = self.pick(data, allowed)
            r = self.post(f"/admin/payouts/{payout_id}/{action}", {"reason": "stateful test"}, client=self.admin)
            if self.check_outcome(r, seen, allowed, 200):
                assert r.json()["status"] == after

        @precondition(lambda self: self.ids)
        @rule(data=st.data())
        def reinitiate(self, data) -> None:
            payout_id, seen = self.pick(data, {"failed"})
            available = minor(self.http.get("/balance").json()["available"])
            r = self.post(f"/payouts/{payout_id}/reinitiate", {})
            if states.reinitiations(seen.history) >= states.MAX_REINITIATIONS:  # only our own calls add to it
                assert r.status_code == 409 and "reinitiated" in r.json()["detail"], r.text
            elif self.check_outcome(r, seen, {"failed"}, 200, {422: "insufficient_funds"}):
                assert r.json()["status"] == "pending"
            elif r.status_code == 422:
                assert seen.amount > available, r.text

        @precondition(lambda self: self.ids)
        @rule(data=st.data(), outcome=st.sampled_from(["success", "failed", "returned"]))
        def simulate_rail(self, data, outcome: str) -> None:
            payout_id, seen = self.pick(data, SIMULATE_FROM[outcome])
            body = {"status": outcome} | ({"failure_code": "account_closed"} if outcome == "failed" else {})
            r = self.post(f"/sandbox/payouts/{payout_id}/simulate", body)
            # Only a payout submitted to the rail (psp_reference set) has an outcome to report.
            allowed = SIMULATE_FROM[outcome] if seen.psp_reference or worker else set()
            if self.check_outcome(r, seen, allowed, 202):
                assert r.json()["status"] == outcome

        @rule(amount=st.integers(min_value=1, max_value=REVIEW_MIN * 5), style=st.integers(0, 2))
        def topup(self, amount: int, style: int) -> None:
            r = self.post("/sandbox/topups", {"amount": amount_text(amount, style)})
            assert r.status_code == 201, r.text
            self.funded += amount
            assert r.json()["amount"] == format_amount(amount)

        @precondition(lambda self: self.last_write is not None)
        @rule()
        def replay_last_write(self) -> None:
            """The same key and body again: the stored answer, and nothing moves."""
            client, path, body, key, first = self.last_write
            r = client.post(path, json=body, headers={"X-Idempotency-Key": key})
            if first.status_code >= 500 or first.status_code in (400, 401, 403):
                return  # not stored: the client may fix the request and retry
            assert r.status_code == first.status_code, (first.text, r.text)
            assert r.headers.get("idempotent-replayed") == "true"
            assert r.json() == first.json()

        # --- invariants ------------------------------------------------------------------

        @invariant()
        def books_agree(self) -> None:
            if not self.merchant_id:
                return
            snap = self.snapshot()
            assert set(snap.payouts) == set(self.ids)

            # Balance = money paid in, less what payouts hold or paid out.
            locked = sum(p.amount for p in snap.payouts.values() if p.status in HOLDING)
            spent = sum(p.amount for p in snap.payouts.values() if p.status in HOLDING | {"success"})
            assert snap.balance == {
                "currency": "PKR", "available": format_amount(self.funded - spent), "locked": format_amount(locked),
                "pending": "0.00", "total": format_amount(self.funded - spent + locked),
            }, snap.payouts

            # Every history is a walk the state machine allows.
            for payout_id, p in snap.payouts.items():
                assert p.history[0] in ("pending", "in_review"), (payout_id, p.history)
                for a, b in zip(p.history, p.history[1:], strict=False):
                    assert b in states.NEXT[a], (payout_id, p.history)
                assert p.status == p.history[-1]

            # The feed: gapless, sums to the balance, and each payout's entries are exactly
            # the transactions its history calls for.
            feed = snap.feed
            assert [e["seq"] for e in feed] == list(range(1, len(feed) + 1))
            sums = Counter()
            for e in feed:
                sums[e["bucket"]] += minor(e["amount"])
            assert {b: sums[b] for b in ("available", "locked", "pending")} == {
                b: minor(snap.balance[b]) for b in ("available", "locked", "pending")}
            assert sum(minor(e["amount"]) for e in feed if e["payout_id"] is None) == self.funded
            for payout_id, p in snap.payouts.items():
                groups: dict[int, list[tuple[str, int]]] = {}
                for e in feed:
                    if e["payout_id"] == payout_id:
                        groups.setdefault(e["transaction_id"], []).append((e["bucket"], minor(e["amount"])))
                assert [sorted(g) for g in groups.values()] == expected_legs(p.amount, p.history), (payout_id, p)

        @invariant()
        def ledger_invariant_holds(self) -> None:
            if self.merchant_id:
                assert on_loop(ledger.check_invariant(self.merchant_id)) == []

    return LedgerMachine


BUDGET = settings(max_examples=15, stateful_step_count=20, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


async def worker_is_running(stack) -> bool:
    """Whether an earlier test left the session's worker running: a payout to the
    success scenario moves on its own within a second if so."""
    api, _ = await new_merchant(stack)
    try:
        p = (await api.post("/payouts", payout_body(account="12345678900001"))).json()
        for _ in range(50):
            if (await api.get(f"/payouts/{p['id']}")).json()["status"] != "pending":
                return True
            await asyncio.sleep(0.02)
        return False
    finally:
        await api.aclose()


async def test_ledger_matches_model_api_only(stack):
    """Payouts stay where the API puts them, so every outcome is exact (unless another
    test started the worker; then the machine allows for it)."""
    worker = await worker_is_running(stack)
    machine = make_machine(stack.base_url, stack.admin_key, asyncio.get_running_loop(), worker)
    await asyncio.to_thread(run_state_machine_as_test, machine, settings=BUDGET)


@pytest.mark.usefixtures("worker")
async def test_ledger_matches_model_with_worker(stack):
    """The worker walks payouts through their scenarios and the rail calls the IPN
    service while the machine acts; the books must agree at every step."""
    machine = make_machine(stack.base_url, stack.admin_key, asyncio.get_running_loop(), True)
    await asyncio.to_thread(run_state_machine_as_test, machine, settings=BUDGET)


# --- found by the machine: a cancelled payout keeps its next step due ----------------------

async def cancelled_pending_payout(merchant) -> str:
    p = (await merchant.post("/payouts", payout_body(account="12345678900001"))).json()
    r = await merchant.post(f"/payouts/{p['id']}/cancel", {})
    if r.status_code == 409:
        pytest.skip("a running worker submitted the payout before it could be cancelled")
    assert r.status_code == 200, r.text
    return p["id"]


async def test_step_job_for_a_cancelled_payout_is_a_no_op(merchant):
    payout_id = await cancelled_pending_payout(merchant)
    assert await engine.advance(payout_id, schedule.MAIN, 0) is False


async def test_cancelled_payout_has_no_step_due(merchant):
    payout_id = await cancelled_pending_payout(merchant)
    assert await db.fetchval("SELECT next_action_at FROM payout WHERE id = $1", payout_id) is None
