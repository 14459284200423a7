"""A Hypothesis state machine against the live API: random payouts (small, in review,
too large), cancels, top-ups and idempotent replays for one fresh merchant per example;
after every step the balance equals a model of DESIGN §2's table to the paisa, the
ledger invariant holds, and the ledger feed sums to the balance.

The API runs in uvicorn inside the session event loop, so the machine runs in a worker
thread (`asyncio.to_thread`) with a synchronous httpx client, and reaches the app's own
database pool by handing coroutines back to that loop.

No worker process runs in the API tests, so payouts stay where the API puts them
(`pending` or `in_review`) until cancelled; the model relies on that."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass

import httpx
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

from sandbox.core.money import format_amount, parse_amount
from sandbox.ledger import service as ledger
from sandbox.payouts import scenarios
from sandbox.payouts.destinations import iban_check_digits

REVIEW_MIN = scenarios.table().review_min_minor  # 100,000.00
SUFFIXES = [f"{i:04d}" for i in range(1, 10)]  # 0001..0007 are scenarios, 0008/0009 the default
CANCELLABLE = {"pending", "in_review"}
FEED_LIMIT = 1000


@dataclass
class Payout:
    amount: int
    status: str


def amount_text(minor: int, style: int) -> str:
    """The same amount written the ways a client may: '1500.00', '1500.5', '1500'."""
    text = format_amount(minor)
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


def make_machine(base_url: str, admin_key: str, loop: asyncio.AbstractEventLoop) -> type[RuleBasedStateMachine]:
    def on_loop(coro):
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=30)

    class LedgerMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.http = httpx.Client(base_url=base_url + "/api/v1", timeout=30)
            self.merchant_id = ""
            self.available = self.locked = self.pending = 0
            self.payouts: dict[str, Payout] = {}
            self.references: set[str] = set()
            self.last_write: tuple[str, dict, str, httpx.Response] | None = None

        def teardown(self) -> None:
            self.http.close()

        def post(self, path: str, body: dict, key: str | None = None) -> httpx.Response:
            key = key or secrets.token_hex(16)
            r = self.http.post(path, json=body, headers={"X-Idempotency-Key": key})
            self.last_write = (path, body, key, r)
            return r

        # --- rules -----------------------------------------------------------------------

        @initialize(opening=st.integers(min_value=0, max_value=30_000_000))
        def new_merchant(self, opening: int) -> None:
            r = self.http.post("/sandbox/merchants",
                               json={"name": "stateful", "opening_balance": format_amount(opening)},
                               headers={"X-API-KEY": admin_key, "X-Idempotency-Key": secrets.token_hex(16)})
            assert r.status_code == 201, r.text
            body = r.json()
            self.merchant_id = body["merchant"]["id"]
            self.http.headers["X-API-KEY"] = body["api_key"]
            self.available = opening

        @rule(data=st.data(), kind=st.sampled_from(["bank", "iban", "wallet"]), suffix=st.sampled_from(SUFFIXES),
              size=st.sampled_from(["small", "review", "all", "over"]), style=st.integers(0, 2),
              ref=st.sampled_from(["none", "new", "reuse"]))
        def create_payout(self, data, kind: str, suffix: str, size: str, style: int, ref: str) -> None:
            if size == "small":
                amount = data.draw(st.integers(min_value=1, max_value=REVIEW_MIN - 1), label="amount")
            elif size == "review":
                amount = data.draw(st.integers(min_value=REVIEW_MIN, max_value=REVIEW_MIN * 3), label="amount")
            elif size == "all":
                amount = self.available
            else:
                amount = self.available + data.draw(st.integers(min_value=1, max_value=REVIEW_MIN), label="excess")
            if amount == 0:
                amount = 1
            dest, number = destination(kind, suffix)
            body = {"amount": amount_text(amount, style), "currency": "PKR", "destination": dest}
            if ref == "new":
                body["reference"] = f"order-{len(self.references) + 1}"
            elif ref == "reuse" and self.references:
                body["reference"] = data.draw(st.sampled_from(sorted(self.references)), label="reference")
            r = self.post("/payouts", body)
            refusals = set()
            if amount > self.available:
                refusals.add("insufficient_funds")
            if body.get("reference") in self.references:
                refusals.add("duplicate_reference")
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
            self.payouts[p["id"]] = Payout(amount, status)
            self.available -= amount
            self.locked += amount

        @precondition(lambda self: self.payouts)
        @rule(data=st.data())
        def cancel(self, data) -> None:
            payout_id = data.draw(st.sampled_from(sorted(self.payouts)), label="payout")
            p = self.payouts[payout_id]
            r = self.post(f"/payouts/{payout_id}/cancel", {"reason": "changed my mind"})
            if p.status in CANCELLABLE:
                assert r.status_code == 200, r.text
                assert r.json()["status"] == "cancelled"
                p.status = "cancelled"
                self.available += p.amount
                self.locked -= p.amount
            else:
                assert r.status_code == 409, r.text
                assert r.json()["code"] == "invalid_state"

        @rule()
        def cancel_unknown(self) -> None:
            r = self.post("/payouts/po_does_not_exist/cancel", {})
            assert r.status_code == 404, r.text

        @rule(amount=st.integers(min_value=1, max_value=REVIEW_MIN * 2), style=st.integers(0, 2))
        def topup(self, amount: int, style: int) -> None:
            r = self.post("/sandbox/topups", {"amount": amount_text(amount, style)})
            assert r.status_code == 201, r.text
            self.available += amount
            body = r.json()
            assert body["amount"] == format_amount(amount)
            assert (body["available"], body["locked"], body["pending"]) == (
                format_amount(self.available), format_amount(self.locked), format_amount(self.pending))

        @precondition(lambda self: self.last_write is not None)
        @rule()
        def replay_last_write(self) -> None:
            """The same key and body again: the stored answer, and nothing moves."""
            path, body, key, first = self.last_write
            r = self.http.post(path, json=body, headers={"X-Idempotency-Key": key})
            if first.status_code >= 500 or first.status_code in (400, 401, 403):
                return  # not stored: the client may fix the request and retry
            assert r.status_code == first.status_code, (first.text, r.text)
            assert r.headers.get("idempotent-replayed") == "true"
            assert r.json() == first.json()

        # --- invariants ------------------------------------------------------------------

        def expected(self) -> dict[str, str]:
            return {"currency": "PKR", "available": format_amount(self.available),
                    "locked": format_amount(self.locked), "pending": format_amount(self.pending),
                    "total": format_amount(self.available + self.locked + self.pending)}

        @invariant()
        def balance_matches_model(self) -> None:
            if not self.merchant_id:
                return
            assert self.locked == sum(p.amount for p in self.payouts.values() if p.status in CANCELLABLE)
            r = self.http.get("/balance")
            assert r.status_code == 200, r.text
            assert r.json() == self.expected()

        @invariant()
        def ledger_invariant_holds(self) -> None:
            if self.merchant_id:
                assert on_loop(ledger.check_invariant(self.merchant_id)) == []

        @invariant()
        def feed_sums_to_balance(self) -> None:
            if not self.merchant_id:
                return
            r = self.http.get("/balance/history", params={"since_seq": 0, "limit": FEED_LIMIT})
            assert r.status_code == 200, r.text
            page = r.json()
            assert page["has_more"] is False
            entries = page["data"]
            assert [e["seq"] for e in entries] == list(range(1, len(entries) + 1))
            sums = {"available": 0, "locked": 0, "pending": 0}
            for e in entries:
                magnitude = parse_amount(e["amount"].removeprefix("-"))
                sums[e["bucket"]] += -magnitude if e["amount"].startswith("-") else magnitude
            assert sums == {"available": self.available, "locked": self.locked, "pending": self.pending}
            # Every payout's entries: created locks it, cancelled releases it.
            for payout_id, p in self.payouts.items():
                kinds = [e["kind"] for e in entries if e["payout_id"] == payout_id]
                want = ["payout_created"] * 2 + (["payout_released"] * 2 if p.status == "cancelled" else [])
                assert kinds == want, (payout_id, kinds)

        @invariant()
        def payouts_match_model(self) -> None:
            if not self.payouts:
                return
            r = self.http.get("/payouts", params={"limit": 100})
            assert r.status_code == 200, r.text
            seen = {p["id"]: (parse_amount(p["amount"]), p["status"]) for p in r.json()["data"]}
            assert seen == {i: (p.amount, p.status) for i, p in self.payouts.items()}

    return LedgerMachine


async def test_ledger_matches_model(stack):
    machine = make_machine(stack.base_url, stack.admin_key, asyncio.get_running_loop())
    budget = settings(max_examples=15, stateful_step_count=20, deadline=None,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    await asyncio.to_thread(run_state_machine_as_test, machine, settings=budget)
