"""Webhook receivers as integrators write them, good and bad, for the receiver audit to
grade: each is a responder for a real local HTTP server (tests/webhooks/receiver.py)."""

from __future__ import annotations

import base64
import hmac
from datetime import UTC, datetime

from standardwebhooks import Webhook, WebhookVerificationError

from tests.webhooks.receiver import Received, Reply
from tests.webhooks.verify import verify_ed25519

ACCEPTED: Reply = (204, {}, b"")
REFUSED: Reply = (400, {}, b"bad signature")


class Verifying:
    """Does what Standard Webhooks asks: verifies the signature and the timestamp (with
    the `standardwebhooks` library for HMAC; Ed25519 `v1a` as the spec describes it, since
    the Python library checks only `v1`), acknowledges a webhook-id it has seen without
    acting again, and ignores event types it does not know."""

    def __init__(self, endpoint: dict) -> None:
        self.endpoint = endpoint
        self.acted_on: list[str] = []  # webhook-ids acted on, once each

    def __call__(self, got: Received) -> Reply:
        try:
            if self.endpoint["signing"] == "hmac-sha256":
                Webhook(self.endpoint["secret"]).verify(got.body, got.headers)
            else:
                verify_ed25519(self.endpoint["public_key"], got)
        except (WebhookVerificationError, KeyError, ValueError):
            return REFUSED
        if got.webhook_id not in self.acted_on:
            self.acted_on.append(got.webhook_id)
        return ACCEPTED


def trusting(got: Received) -> Reply:
    """Checks nothing: takes every request at its word."""
    return ACCEPTED


class SignatureOnly:
    """Checks the HMAC signature (every one in the header, in constant time) but never
    the timestamp: a captured request can be replayed forever."""

    def __init__(self, endpoint: dict) -> None:
        self.webhook = Webhook(endpoint["secret"])

    def __call__(self, got: Received) -> Reply:
        try:
            headers = got.headers
            at = datetime.fromtimestamp(int(headers["webhook-timestamp"]), UTC)
            expected = base64.b64decode(self.webhook.sign(headers["webhook-id"], at, got.body.decode()).split(",")[1])
            for versioned in headers["webhook-signature"].split(" "):
                version, _, signature = versioned.partition(",")
                if version == "v1" and hmac.compare_digest(base64.b64decode(signature), expected):
                    return ACCEPTED
        except (KeyError, ValueError):
            pass
        return REFUSED


class SkipsWhenSeveral(Verifying):
    """Verifies as `Verifying` does, unless two or more signatures come: then it takes the
    request at its word (a receiver that reads several signatures as a rotation under way)."""

    def __call__(self, got: Received) -> Reply:
        if len(got.headers.get("webhook-signature", "").split(" ")) >= 2:
            return ACCEPTED
        return super().__call__(got)
