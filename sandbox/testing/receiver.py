"""A local webhook receiver for one test: a real HTTP server in a thread, registered as
the merchant's endpoint (HMAC-SHA256 signing), verifying every delivery with the
`standardwebhooks` library before accepting it (2xx). A delivery that fails
verification is answered 400 and kept in `rejected`; the fixture fails the test on it."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sandbox.client.blocking import expect
from sandbox.testing.client import MypayMerchant

try:
    from standardwebhooks import Webhook, WebhookVerificationError
except ImportError as exc:  # the plugin loads without it; only this fixture needs it
    raise ImportError("mypay_webhooks needs the standardwebhooks package: pip install 'mypay-sandbox[pytest]'") \
        from exc


class WebhookReceiver:
    def __init__(self, merchant: MypayMerchant, events: list[str] | None = None) -> None:
        self.merchant = merchant
        self.events: list[dict] = []  # verified deliveries, parsed, in arrival order
        self.rejected: list[str] = []  # why each refused delivery failed verification
        self._arrived = threading.Condition()
        bind = "127.0.0.1" if merchant.sandbox.webhook_host == "127.0.0.1" else "0.0.0.0"
        self._server = ThreadingHTTPServer((bind, 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="mypay-webhooks", daemon=True)
        self._thread.start()
        self.url = f"http://{merchant.sandbox.webhook_host}:{self._server.server_port}/mypay-webhooks"
        self.endpoint = expect(merchant.client.post("/webhook-endpoints", json={
            "url": self.url, "events": events or ["*"], "signing": "hmac-sha256"}), 201)
        self._verifier = Webhook(self.endpoint["secret"])

    def _handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    event = receiver._verifier.verify(body, headers)
                except WebhookVerificationError as exc:
                    receiver._reject(f"{headers.get('webhook-id')}: {exc}")
                    self.send_response(400)
                else:
                    receiver._accept(event)
                    self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args) -> None:  # quiet: pytest shows failures, not traffic
                pass

        return Handler

    def _accept(self, event: dict) -> None:
        with self._arrived:
            self.events.append(event)
            self._arrived.notify_all()

    def _reject(self, why: str) -> None:
        with self._arrived:
            self.rejected.append(why)

    def _find(self, event_type: str, payout_id: str | None, where) -> dict | None:
        for event in self.events:
            data = event.get("data") or {}
            if event["type"] == event_type and payout_id in (None, data.get("id"), data.get("payout_id")) \
                    and (where is None or where(event)):
                return event
        return None

    def wait_for(self, event_type: str, payout_id: str | None = None, timeout: float = 10.0, where=None) -> dict:
        """The first verified event of this type (for this payout, and for which `where(event)`
        holds when given, e.g. a payout that passes a status twice), waiting up to `timeout`."""
        with self._arrived:
            if found := self._arrived.wait_for(lambda: self._find(event_type, payout_id, where), timeout):
                return found
            seen = [(e["type"], (e.get("data") or {}).get("id")) for e in self.events]
        raise AssertionError(f"no verified {event_type} webhook for {payout_id or 'any payout'} in {timeout:g}s; "
                             f"received {seen}")

    def types(self, payout_id: str | None = None) -> list[str]:
        with self._arrived:
            return [e["type"] for e in self.events
                    if payout_id in (None, (e.get("data") or {}).get("id"))]

    def close(self) -> None:
        try:
            self.merchant.client.delete(f"/webhook-endpoints/{self.endpoint['id']}")
        finally:
            self._server.shutdown()
            self._server.server_close()

    def __repr__(self) -> str:
        return f"WebhookReceiver({self.url}, {len(self.events)} events)"



