"""HTTP clients for a test session: the sandbox (admin key, scenario table) and one
merchant per test (its key, a fresh idempotency key on every mutating request)."""

from __future__ import annotations

import ssl
import time
import uuid
from functools import cache, cached_property

import httpx

MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
OPENING_BALANCE = "1000000.00"
POLL_S = 0.05  # between two reads of a payout while waiting on its status


def _add_idempotency_key(request: httpx.Request) -> None:
    if request.method in MUTATING and not ({"x-idempotency-key", "idempotency-key"} & set(request.headers)):
        request.headers["X-Idempotency-Key"] = uuid.uuid4().hex


@cache
def tls() -> ssl.SSLContext:
    """One TLS context for every client of the process, the one httpx would make (its CA
    bundle, or SSL_CERT_FILE / SSL_CERT_DIR). httpx makes one for each new client otherwise,
    reading the whole CA bundle each time: 25-50 ms a client, most of what making a test's
    merchant cost, for a sandbox that mostly answers plain HTTP."""
    return httpx.create_ssl_context()


def api_client(base_url: str, key: str) -> httpx.Client:
    """A client on the sandbox's `/api/v1`. `base_url` is the server's root, but the API's
    own URL (`…/api/v1`, as `sandbox up` prints it) is taken too, not doubled."""
    root = base_url.rstrip("/").removesuffix("/api/v1")
    return httpx.Client(base_url=root + "/api/v1", headers={"X-API-KEY": key}, timeout=30, verify=tls(),
                        event_hooks={"request": [_add_idempotency_key]})


class Refused(AssertionError):
    """The sandbox did not answer as expected. The message is one line a person reads: the
    request, the status, and the problem's title, detail and `code` (RFC 9457), or what
    came instead of a problem (a server that is not the sandbox's API, say). An
    AssertionError, so a test using the plugin's clients fails rather than errors."""

    def __init__(self, response: httpx.Response, expected: int) -> None:
        self.response = response
        self.problem = _problem(response)
        asked = f"{response.request.method} {response.request.url.path} answered {response.status_code}"
        if self.problem is None:
            kind = response.headers.get("content-type", "").split(";")[0] or "no content type"
            message = f"{asked} with {kind}, expected {expected} with JSON: is this MyPay Sandbox's API?"
        else:
            title, detail = self.problem.get("title") or "", self.problem.get("detail") or ""
            said = title if detail in ("", title) else f"{title}: {detail}"
            message = f"{asked}: {said} (code {self.problem.get('code')})"
        super().__init__(" ".join(message.split()))  # one line, whatever the server put in it


def _problem(response: httpx.Response) -> dict | None:
    if response.headers.get("content-type", "").split(";")[0].strip() != "application/problem+json":
        return None
    try:
        problem = response.json()
    except ValueError:
        return None
    return problem if isinstance(problem, dict) else None


def expect(response: httpx.Response, status: int) -> dict:
    """The JSON body of an answer with `status`; `Refused` for any other answer, or one
    that is not JSON."""
    if response.status_code != status:
        raise Refused(response, status)
    try:
        return response.json()
    except ValueError:
        raise Refused(response, status) from None


def advance(client: httpx.Client, seconds: float | None = None, until: str | None = None) -> dict:
    """Move the manual clock of `client`'s merchant `seconds` forward, or `until="idle"`."""
    body = {"seconds": seconds} if until is None else {"until": until}
    return expect(client.post("/sandbox/clock/advance", json=body), 200)


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
