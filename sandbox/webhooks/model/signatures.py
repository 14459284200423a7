"""Standard Webhooks signing keys and signatures. Keys: `whsec_` + base64 of 32 random
bytes for HMAC-SHA256; `whsk_` / `whpk_` + base64 of the raw Ed25519 private / public
key. Signatures: `v1,<base64 HMAC-SHA256>` or `v1a,<base64 Ed25519>` over
`{webhook-id}.{webhook-timestamp}.{body}`, space-separated when several keys sign."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from functools import lru_cache

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from sandbox.guards.fingerprints import WEBHOOK_PRIVATE_PREFIX, WEBHOOK_SECRET_PREFIX

HMAC, ED25519 = "hmac-sha256", "ed25519"
SCHEMES = (HMAC, ED25519)
SECRET_PREFIX, PRIVATE_PREFIX, PUBLIC_PREFIX = WEBHOOK_SECRET_PREFIX, WEBHOOK_PRIVATE_PREFIX, "whpk_"
SECRET_BYTES = 32


@dataclass(frozen=True, slots=True)
class KeyPair:
    """What is stored (`signing_key`) and what the merchant may see (`public_key`, or the
    secret itself for HMAC, shown once)."""

    signing_key: str
    public_key: str | None

    @property
    def shown_secret(self) -> str | None:
        return self.signing_key if self.signing_key.startswith(SECRET_PREFIX) else None


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def generate(scheme: str) -> KeyPair:
    if scheme == HMAC:
        return KeyPair(SECRET_PREFIX + _b64(secrets.token_bytes(SECRET_BYTES)), None)
    if scheme == ED25519:
        private = Ed25519PrivateKey.generate()
        return KeyPair(PRIVATE_PREFIX + _b64(private.private_bytes_raw()), public_key_of(private))
    raise ValueError(f"unknown signing scheme {scheme!r}")


def public_key_of(private: Ed25519PrivateKey) -> str:
    return PUBLIC_PREFIX + _b64(private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))


def decode(serialised: str) -> bytes:
    """The raw key bytes behind `whsec_…`, `whsk_…` or `whpk_…`."""
    for prefix in (SECRET_PREFIX, PRIVATE_PREFIX, PUBLIC_PREFIX):
        if serialised.startswith(prefix):
            return base64.b64decode(serialised[len(prefix):])
    raise ValueError("not a Standard Webhooks key")


def signed_content(msg_id: str, timestamp: int, body: bytes) -> bytes:
    return f"{msg_id}.{timestamp}.".encode() + body


@lru_cache(maxsize=1024)
def _private_key(serialised: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(decode(serialised))


def sign(signing_key: str, content: bytes) -> str:
    """One versioned signature with a stored key (`whsec_…` or `whsk_…`)."""
    if signing_key.startswith(SECRET_PREFIX):
        digest = hmac.new(decode(signing_key), content, hashlib.sha256).digest()
        return "v1," + base64.b64encode(digest).decode("ascii")
    if signing_key.startswith(PRIVATE_PREFIX):
        return "v1a," + base64.b64encode(_private_key(signing_key).sign(content)).decode("ascii")
    raise ValueError("not a signing key")


def signature_header(signing_keys: list[str], msg_id: str, timestamp: int, body: bytes) -> str:
    content = signed_content(msg_id, timestamp, body)
    return " ".join(sign(key, content) for key in signing_keys)
