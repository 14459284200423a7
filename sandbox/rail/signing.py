"""The rail's callback signature: `X-Rail-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256
of "{t}.{raw body}">`, refused when the timestamp is more than five minutes off."""

from __future__ import annotations

import hashlib
import hmac
import time

HEADER = "X-Rail-Signature"
TOLERANCE_S = 300


class BadSignature(ValueError):
    pass


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verify(secret: str, body: bytes, header: str | None, now: float | None = None) -> None:
    if not header:
        raise BadSignature(f"missing {HEADER} header")
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if sep:
            parts.setdefault(key, []).append(value)
    try:
        t = int(parts["t"][0])
    except (KeyError, ValueError):
        raise BadSignature("no valid timestamp in the signature header") from None
    current = time.time() if now is None else now
    if abs(current - t) > TOLERANCE_S:
        raise BadSignature("the signature timestamp is more than five minutes off")
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected, candidate) for candidate in parts.get("v1", [])):
        raise BadSignature("the signature does not match")
