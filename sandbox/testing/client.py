"""HTTP clients for a test session: the sandbox (admin key, scenario table) and one
merchant per test (its key, a fresh idempotency key on every mutating request)."""

from __future__ import annotations

import time
import uuid
from functools import cached_property

from sandbox.client.blocking import OPENING_BALANCE, POLL_S, advance, api_client, expect


class MypaySandbox:
    """The session's sandbox. `merchants` remembers every merchant made (their clients are
    closed after each test; the coverage gate reads each one's coverage with its key)."""

    def __init__(self, url: str, admin_key: str, webhook_host: str = "127.0.0.1") -> None:
        self.url = url.rstrip("/")
        self.admin_key = admin_key
        self.webhook_host = webhook_host
        self.admin = api_client(self.url, admin_key)
        self.merchants: list[MypayMerchant] = []

    @cached_property
    def scenarios(self) -> list[dict]:
        return expect(self.admin.get("/sandbox/scenarios"), 200)["scenarios"]

    def scenario(self, name: str) -> dict:
        for scenario in self.scenarios:
            if scenario["name"] == name:
                return scenario
        raise KeyError(f"no scenario {name!r}; the sandbox has {[s['name'] for s in self.scenarios]} (a merchant's"
                       " own: mypay_merchant.account_number(name))")

    def account_number(self, scenario: str) -> str:
        """A 14-digit bank account number whose last four digits pick `scenario`."""
        return "1234567890" + self.scenario(scenario)["suffix"]

    def new_merchant(self, clock: str | None = None, opening_balance: str = OPENING_BALANCE,
                     made_by: str = "pytest") -> MypayMerchant:
        """A fresh merchant (named `made_by` and a random tag: runs never collide)."""
        body: dict = {"name": f"{made_by} {uuid.uuid4().hex[:8]}", "opening_balance": opening_balance}
        if clock is not None:
            body["clock"] = clock
        created = expect(self.admin.post("/sandbox/merchants", json=body), 201)
        merchant = MypayMerchant(self, created["merchant"]["id"], created["api_key"])
        self.merchants.append(merchant)
        return merchant

    def audit_receiver(self, url: str, use_secret, signing: str = "hmac-sha256") -> dict:
        """Register `url` for a throwaway merchant, hand the receiver its key (`use_secret`
        gets the `whsec_…` secret, or the `whpk_…` public key for ed25519), run the receiver
        audit and return it; the endpoint is deleted afterwards."""
        merchant = self.new_merchant()
        try:
            endpoint = expect(merchant.client.post("/webhook-endpoints", json={
                "url": url, "signing": signing, "description": "receiver audit"}), 201)
            try:
                use_secret(endpoint["secret"] or endpoint["public_key"])
                # Longer than the audit's own bound (about 30 s against a receiver that hangs).
                return expect(merchant.client.post(f"/webhook-endpoints/{endpoint['id']}/audit", timeout=90), 200)
            finally:
                merchant.client.delete(f"/webhook-endpoints/{endpoint['id']}")
        finally:
            merchant.close()

    def coverage_of(self, key: str) -> dict:
        with api_client(self.url, key) as client:
            return expect(client.get("/sandbox/coverage"), 200)

    def close(self) -> None:
        self.admin.close()


class MypayMerchant:
    """A fresh merchant: `client` is an httpx.Client on /api/v1 with its key."""

    def __init__(self, sandbox: MypaySandbox, merchant_id: str, key: str) -> None:
        self.sandbox = sandbox
        self.id = merchant_id
        self.key = key
        self.client = api_client(sandbox.url, key)

    def scenarios(self) -> list[dict]:
        """The scenario table this merchant sees: the built-in scenarios, then its own."""
        return expect(self.client.get("/sandbox/scenarios"), 200)["scenarios"]

    def create_scenario(self, name: str, steps: list[dict], **fields) -> dict:
        """A scenario of the merchant's own (`title` defaults to the name; `suffix`,
        `description`, `after_release` as POST /sandbox/scenarios takes them)."""
        body = {"name": name, "title": fields.pop("title", name), "steps": steps, **fields}
        return expect(self.client.post("/sandbox/scenarios", json=body), 201)

    def account_number(self, scenario: str) -> str:
        """A bank account number whose last four digits pick `scenario` (a built-in one or
        the merchant's own; one without a suffix gets a number of no scenario's)."""
        own = next((s for s in self.scenarios() if s["name"] == scenario), None) if scenario not in {
            s["name"] for s in self.sandbox.scenarios} else None
        if own is not None:
            return "1234567890" + (own.get("suffix") or "0000")
        return self.sandbox.account_number(scenario)

    def payout(self, scenario: str, amount: str = "1500.00", **fields) -> dict:
        """Create a payout to a bank account that follows `scenario` (built-in or the
        merchant's own: named in the request, and picked by its suffix too when it has one)."""
        destination = {"type": "bank", "bank_code": "HBL", "account_number": self.account_number(scenario),
                       "account_title": "Ali Raza"}
        body = {"amount": amount, "currency": "PKR", "destination": destination, "scenario": scenario, **fields}
        return expect(self.client.post("/payouts", json=body), 201)

    def get_payout(self, payout_id: str) -> dict:
        return expect(self.client.get(f"/payouts/{payout_id}"), 200)

    def wait_for_status(self, payout_id: str, status: str, timeout: float = 10.0) -> dict:
        """The payout once its status is `status`; fails at the deadline with where it got to."""
        return self.wait_until(payout_id, lambda p: p["status"] == status, timeout, f"become {status}")

    def wait_until(self, payout_id: str, condition, timeout: float = 10.0, what: str = "meet the condition") -> dict:
        """The payout once `condition(payout)` holds, e.g. `lambda p: p["psp_reference"]`."""
        deadline = time.monotonic() + timeout
        while True:
            payout = self.get_payout(payout_id)
            if condition(payout):
                return payout
            if time.monotonic() > deadline:
                walked = " -> ".join(h["status"] for h in payout["status_history"])
                raise AssertionError(f"payout {payout_id} did not {what} in {timeout:g}s ({walked})")
            time.sleep(POLL_S)

    def coverage(self) -> dict:
        return self.sandbox.coverage_of(self.key)

    def requests(self, **filters) -> list[dict]:
        """The merchant's logged API requests, newest first, every page: `idempotency_key`,
        `method`, `path` (a prefix), `status`, `since` filter them, `limit` caps how many."""
        most = filters.pop("limit", None)
        found: list[dict] = []
        params = {k: v for k, v in filters.items() if v is not None}
        while most is None or len(found) < most:
            page = expect(self.client.get("/sandbox/requests", params={**params, "limit": 100}), 200)
            found += page["data"]
            if not page["has_more"]:
                break
            params["cursor"] = page["next_cursor"]
        return found[:most] if most is not None else found

    def fault(self, fault: str, path: str = "/", method: str = "*", times: int = 1,
              delay_s: float | None = None) -> dict:
        """A fault rule: the merchant's next `times` requests matching `method` and `path`
        (a route template or prefix below /api/v1) get `fault`."""
        body = {"fault": fault, "path": path, "method": method, "times": times}
        if delay_s is not None:
            body["delay_s"] = delay_s
        return expect(self.client.post("/sandbox/faults", json=body), 201)

    def clock(self) -> dict:
        """The merchant's clock: `kind` ("manual" or "live"), `time`, `next_step_at`."""
        return expect(self.client.get("/sandbox/clock"), 200)

    def advance(self, seconds: float | None = None, until: str | None = None) -> dict:
        """Move a manual clock `seconds` forward, or `until="idle"`; answers once every
        step that fell due is applied: the clock's new `time` and the `transitions`."""
        return advance(self.client, seconds, until)

    def close(self) -> None:
        self.client.close()
