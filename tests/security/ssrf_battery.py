"""The SSRF battery: what an attacker holding one merchant key of a shared sandbox tries, to
make the sandbox call inside its own network. Run against a live instance:

    uv run python -m tests.security.ssrf_battery API_BASE_URL MERCHANT_KEY [--redirect-host NAME]

Each case registers a webhook endpoint at a target inside the network and passes when the
sandbox refuses it, in words: at registration (422 `webhook_target_refused`), or, where
registration let it through, on its first delivery attempt (no answer recorded, the
refusal's words). A case fails when a target was registered and called: that is the hole.
After the cases the instance must still answer `/api/v1/ready`. One line per case, then a
summary; exit 1 on any failure, 2 on a usage error.

Targets: the instance's own API (its operator route) and IPN on 127.0.0.1; RFC 1918,
CGNAT, unspecified and link-local addresses; the cloud metadata address; `localhost`, a
name that resolves to loopback; and a redirect to loopback. For the redirect the battery
serves a receiver that answers `307` to the instance's own admin route: a receiver the
instance allows must be given (`--redirect-host`, a name the instance's
SANDBOX_WEBHOOK_ALLOW holds and that reaches this machine), else the redirecting receiver,
on this machine's loopback, is itself refused at registration and the hop is never tried
(said so on its line)."""

from __future__ import annotations

import argparse
import http.server
import secrets
import sys
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

EXIT_FAILED, EXIT_USAGE = 1, 2
PAYOUT = {"amount": "15.00", "currency": "PKR",
          "destination": {"type": "bank", "bank_code": "HBL", "account_number": "12345678900001",
                          "account_title": "SSRF Battery"}}
REFUSED_WORDS = "webhook targets inside the network are refused"


@dataclass
class Case:
    name: str
    url: str
    hop: bool = False  # a redirecting receiver: its attempt must say the redirect was not followed


@dataclass
class Outcome:
    passed: bool
    said: str


class Redirector(http.server.BaseHTTPRequestHandler):
    """Answers every request with a 307 to `location`."""

    location = "http://127.0.0.1/"
    hits = 0

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        type(self).hits += 1
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.send_response(307)
        self.send_header("Location", self.location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - http.server's signature
        pass


class Battery:
    def __init__(self, base: str, key: str, deadline_s: float) -> None:
        self.base = base
        self.http = httpx.Client(base_url=base + "/api/v1", headers={"X-API-KEY": key}, timeout=30)
        self.deadline_s = deadline_s

    def post(self, path: str, body: dict) -> httpx.Response:
        return self.http.post(path, json=body, headers={"X-Idempotency-Key": "ssrf-" + secrets.token_hex(12)})

    def run(self, case: Case) -> Outcome:
        r = self.post("/webhook-endpoints", {"url": case.url, "events": ["payout.created"],
                                             "description": f"ssrf battery: {case.name}"})
        if r.status_code == 422 and r.json().get("code") == "webhook_target_refused":
            message = r.json()["errors"][0]["message"]
            return Outcome(REFUSED_WORDS in message, f"refused at registration: 422 {message}")
        if r.status_code != 201:
            return Outcome(False, f"registration answered {r.status_code}, not a refusal in words: {r.text[:300]}")
        endpoint = r.json()["id"]
        try:
            return self.delivered(case, endpoint)
        finally:
            self.http.delete(f"/webhook-endpoints/{endpoint}", headers={"X-Idempotency-Key": secrets.token_hex(12)})

    def delivered(self, case: Case, endpoint: str) -> Outcome:
        """The first attempt of the delivery a new payout makes to `endpoint`."""
        payout = self.post("/payouts", PAYOUT)
        if payout.status_code != 201:
            return Outcome(False, f"registered (201); no payout to deliver ({payout.status_code}: {payout.text[:200]})")
        end = time.monotonic() + self.deadline_s
        while time.monotonic() < end:
            events = self.http.get("/events", params={"payout_id": payout.json()["id"], "type": "payout.created"})
            for event in events.json().get("data", []):
                for delivery in self.http.get(f"/events/{event['id']}/deliveries").json().get("data", []):
                    if delivery["endpoint_id"] == endpoint and delivery["attempts"]:
                        return judged(case, delivery["attempts"][0])
            time.sleep(0.2)
        return Outcome(False, f"registered (201) and no attempt recorded within {self.deadline_s:g} s")

    def ready(self) -> Outcome:
        try:
            r = httpx.get(self.base + "/api/v1/ready", timeout=10)
        except httpx.HTTPError as exc:
            return Outcome(False, f"/api/v1/ready: {type(exc).__name__}: {exc}")
        return Outcome(r.status_code == 200, f"/api/v1/ready answered {r.status_code}")


def judged(case: Case, attempt: dict) -> Outcome:
    error, code, excerpt = attempt.get("error") or "", attempt.get("status_code"), attempt.get("response_excerpt")
    if case.hop:
        followed = code is None or not 300 <= code < 400 or "redirects are not followed" not in error
        return Outcome(not followed, f"registered, and the hop was {'FOLLOWED' if followed else 'not followed'}: "
                                     f"HTTP {code}, {error!r}")
    if code is None and excerpt is None and REFUSED_WORDS in error:
        return Outcome(True, f"refused on delivery: {error}")
    return Outcome(False, f"CALLED: HTTP {code}, error {error!r}, answer {excerpt!r}")


def cases(base: str, ipn_port: int, redirect: str) -> list[Case]:
    api_port = urlsplit(base).port or (443 if base.startswith("https") else 80)
    return [
        Case("loopback: the API's operator route", f"http://127.0.0.1:{api_port}/api/v1/admin/teams"),
        Case("loopback: the IPN", f"http://127.0.0.1:{ipn_port}/ipn/rail"),
        Case("loopback: 127.1.2.3", "http://127.1.2.3/"),
        Case("private: 10.0.0.1", "http://10.0.0.1/hook"),
        Case("private: 172.16.0.1", "http://172.16.0.1/hook"),
        Case("private: 192.168.0.1", "http://192.168.0.1/hook"),
        Case("CGNAT: 100.64.0.1", "http://100.64.0.1/hook"),
        Case("unspecified: 0.0.0.0", f"http://0.0.0.0:{api_port}/api/v1/admin/teams"),
        Case("link-local: 169.254.1.1", "http://169.254.1.1/hook"),
        Case("metadata: 169.254.169.254", "http://169.254.169.254/latest/meta-data/"),
        Case("DNS name to loopback: localhost", f"http://localhost:{api_port}/api/v1/admin/teams"),
        Case("redirect to loopback", redirect, hop=True),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=".ci/ssrf-battery", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("base", help="the instance's base URL (http://host:port, with or without /api/v1)")
    parser.add_argument("key", help="a merchant key of the instance")
    parser.add_argument("--ipn-port", type=int, help="the IPN's port as the instance sees it (default: the API's + 1)")
    parser.add_argument("--redirect-host", help="a host name the instance allows (SANDBOX_WEBHOOK_ALLOW) that "
                                                "reaches this machine: the redirecting receiver is served there")
    parser.add_argument("--deadline", type=float, default=60.0, help="seconds to wait for a delivery's first attempt")
    args = parser.parse_args(argv)
    base = args.base.rstrip("/").removesuffix("/api/v1")
    if urlsplit(base).scheme not in ("http", "https"):
        parser.error(f"{args.base!r} is not an http(s) URL")
    api_port = urlsplit(base).port or 80

    server = http.server.ThreadingHTTPServer(("0.0.0.0" if args.redirect_host else "127.0.0.1", 0), Redirector)
    Redirector.location = f"http://127.0.0.1:{api_port}/api/v1/admin/teams"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    redirect = f"http://{args.redirect_host or '127.0.0.1'}:{server.server_address[1]}/hook"

    battery = Battery(base, args.key, args.deadline)
    failed = 0
    try:
        for case in cases(base, args.ipn_port or api_port + 1, redirect):
            outcome = battery.run(case)
            if case.hop and not args.redirect_host and outcome.said.startswith("refused at registration"):
                outcome.said += " (the redirecting receiver itself, on loopback: give --redirect-host to try the hop)"
            failed += not outcome.passed
            print(f"{'PASS' if outcome.passed else 'FAIL'}  {case.name}: {outcome.said}", flush=True)
        ready = battery.ready()
        failed += not ready.passed
        print(f"{'PASS' if ready.passed else 'FAIL'}  the instance still serves: {ready.said}", flush=True)
    finally:
        server.shutdown()
    total = len(cases(base, 0, redirect)) + 1
    print(f"ssrf battery against {base}: {total - failed} of {total} held" + (f", {failed} FAILED" if failed else "")
          + f" (the redirecting receiver was called {Redirector.hits} times)")
    return EXIT_FAILED if failed else 0


if __name__ == "__main__":
    sys.exit(main())
