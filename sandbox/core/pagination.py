"""Cursor pagination: lists answer `{"data", "has_more", "next_cursor"}`; the client
passes `next_cursor` back as `?cursor=`. The cursor is opaque to clients."""

from __future__ import annotations

import base64

from sandbox.core.errors import ValidationFailed

MAX_LIMIT = 100


def encode_cursor(position: int, kind: str = "p") -> str:
    """`kind` tells apart cursors of different orders (p: newest first, s: a feed)."""
    return base64.urlsafe_b64encode(f"{kind}{position}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, kind: str = "p") -> int | None:
    if cursor is None or cursor == "":
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii")
        if not raw.startswith(kind):
            raise ValueError
        value = int(raw[1:])
        if value < 0:
            raise ValueError
        return value
    except (ValueError, UnicodeError):
        raise ValidationFailed.field("cursor", "is not a cursor this API returned") from None

