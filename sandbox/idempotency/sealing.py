"""No key at rest in plain text in the idempotency store: a stored answer that carries a
secret the sandbox handed out (a new merchant's or team's key, a rolled key, a webhook
signing secret) keeps each such secret sealed, so a database dump holds no live key, while a
retried create still answers with its key, as its first answer did.

Each secret (found by its shape, as the request log finds them: requests/redaction.py) is
replaced in the stored body by `sealed_v1.` and the hex of a nonce and its AES-GCM
ciphertext (hex: the stored body never spells `sk_` by chance), under a key derived with
HKDF from the server secret (SANDBOX_SESSION_SECRET, or the data dir's), the request's
fingerprint as associated data (a sealed value moved to another key's row does not open).
The rest of the answer stays readable. A replay opens them again. A server secret changed
since (a rotation) cannot open them: the replay then answers with `SEALED_GONE` in the
secret's place, and says so in a header, rather than a key that would not work anyway."""

from __future__ import annotations

import os
import re
from functools import cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from sandbox.auth.keys import ADMIN_KEY_PREFIX, MERCHANT_KEY_PREFIX
from sandbox.auth.server_secret import server_secret
from sandbox.guards.fingerprints import WEBHOOK_PRIVATE_PREFIX as PRIVATE_PREFIX
from sandbox.guards.fingerprints import WEBHOOK_SECRET_PREFIX as SECRET_PREFIX

_PREFIXES = tuple(p.encode() for p in (MERCHANT_KEY_PREFIX, ADMIN_KEY_PREFIX, SECRET_PREFIX, PRIVATE_PREFIX))
# A secret: its prefix, then its characters (urlsafe or standard base64, as in a JSON body).
_SECRET = re.compile(rb"(?:" + b"|".join(map(re.escape, _PREFIXES)) + rb")[A-Za-z0-9_\-+/=]+")
_SEALED = re.compile(rb"sealed_v1\.([0-9a-f]+)")
_INFO = b"mypay-sandbox idempotency-store v1"
_NONCE = 12
SEALED_GONE = b"[not kept: sealed under a server secret that has changed]"
# The replay's header when a sealed secret could not be opened.
GONE_HEADER = ("x-sandbox-sealed-secret", "not kept: the server secret changed since the first answer")


@cache
def _aead() -> AESGCM:
    return AESGCM(HKDF(hashes.SHA256(), length=32, salt=None, info=_INFO).derive(server_secret()))


def seal(body: bytes, request_hash: str) -> bytes:
    """`body` with every secret in it sealed (the common body, with none, as it is)."""
    if not any(prefix in body for prefix in _PREFIXES):
        return body
    aad = request_hash.encode()

    def sealed(found: re.Match[bytes]) -> bytes:
        nonce = os.urandom(_NONCE)
        return b"sealed_v1." + (nonce + _aead().encrypt(nonce, found.group(0), aad)).hex().encode()

    return _SECRET.sub(sealed, body)


def open_sealed(body: bytes, request_hash: str) -> tuple[bytes, bool]:
    """`body` with its sealed secrets opened, and whether every one could be."""
    if b"sealed_v1." not in body:
        return body, True
    aad = request_hash.encode()
    every = True

    def opened(found: re.Match[bytes]) -> bytes:
        nonlocal every
        raw = bytes.fromhex(found.group(1).decode())
        try:
            return _aead().decrypt(raw[:_NONCE], raw[_NONCE:], aad)
        except (InvalidTag, ValueError):
            every = False
            return SEALED_GONE

    return _SEALED.sub(opened, body), every
