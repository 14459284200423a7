"""Standard Webhooks signatures: `v1,<base64 HMAC-SHA256>` or `v1a,<base64 Ed25519>` over
`{webhook-id}.{webhook-timestamp}.{body}`, space-separated when several keys sign."""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sandbox.webhooks import keys


def signed_content(msg_id: str, timestamp: int, body: bytes) -> bytes:
    return f"{msg_id}.{timestamp}.".encode() + body


@lru_cache(maxsize=1024)
def _private_key(serialised: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(keys.decode(serialised))


def sign(signing_key: str, content: bytes) -> str:
    """One versioned signature with a stored key (`whsec_…` or `whsk_…`)."""
    if signing_key.startswith(keys.SECRET_PREFIX):
        digest = hmac.new(keys.decode(signing_key), content, hashlib.sha256).digest()
        return "v1," + base64.b64encode(digest).decode("ascii")
    if signing_key.startswith(keys.PRIVATE_PREFIX):
        return "v1a," + base64.b64encode(_private_key(signing_key).sign(content)).decode("ascii")
    raise ValueError("not a signing key")


def signature_header(signing_keys: list[str], msg_id: str, timestamp: int, body: bytes) -> str:
    content = signed_content(msg_id, timestamp, body)
    return " ".join(sign(key, content) for key in signing_keys)
