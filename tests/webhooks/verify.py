"""Checking what the receiver got, independently of the sandbox's own code: HMAC with
the `standardwebhooks` package; Ed25519 with `cryptography`, because standardwebhooks
1.1 (Python) verifies only `v1` signatures and skips `v1a` ones."""

from __future__ import annotations

import base64
import json
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from standardwebhooks import Webhook, WebhookVerificationError

from tests.webhooks.receiver import Received

TOLERANCE_S = 5 * 60


def verify(endpoint: dict, got: Received, secret: str | None = None) -> dict:
    """The parsed body if a signature verifies with the endpoint's key (or `secret`)."""
    if endpoint["signing"] == "hmac-sha256":
        return Webhook(secret or endpoint["secret"]).verify(got.body, got.headers)
    return verify_ed25519(secret or endpoint["public_key"], got)


def verify_ed25519(public_key: str, got: Received) -> dict:
    """The Standard Webhooks `v1a` scheme, the way the spec describes it."""
    key = ed25519_key(public_key)
    headers = got.headers
    timestamp = int(headers["webhook-timestamp"])
    if abs(time.time() - timestamp) > TOLERANCE_S:
        raise WebhookVerificationError("Message timestamp too old or too new")
    content = signed_content(got)
    for versioned in headers["webhook-signature"].split(" "):
        version, _, signature = versioned.partition(",")
        if version == "v1a" and ed25519_verifies(key, content, signature):
            return json.loads(got.body)
    raise WebhookVerificationError("No matching signature found")


def ed25519_key(public_key: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key.removeprefix("whpk_")))


def signed_content(got: Received) -> bytes:
    """What a signature signs: `{webhook-id}.{webhook-timestamp}.{body}`."""
    return f"{got.headers['webhook-id']}.{int(got.headers['webhook-timestamp'])}.".encode() + got.body


def ed25519_verifies(key: Ed25519PublicKey, content: bytes, signature: str) -> bool:
    """Whether one `v1a` signature (its base64 part) is the key's over `content`."""
    try:
        key.verify(base64.b64decode(signature), content)
    except InvalidSignature:
        return False
    return True


def verifies(endpoint: dict, got: Received, secret: str | None = None) -> bool:
    try:
        verify(endpoint, got, secret)
        return True
    except WebhookVerificationError:
        return False
