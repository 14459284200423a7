"""Signing keys in the Standard Webhooks serialisation: `whsec_` + base64 of 32 random
bytes for HMAC-SHA256; `whsk_` / `whpk_` + base64 of the raw Ed25519 private / public key."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

HMAC, ED25519 = "hmac-sha256", "ed25519"
SCHEMES = (HMAC, ED25519)
SECRET_PREFIX, PRIVATE_PREFIX, PUBLIC_PREFIX = "whsec_", "whsk_", "whpk_"
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
