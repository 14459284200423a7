"""Cursor pagination: lists answer `{"data", "has_more", "next_cursor"}`; the client
passes `next_cursor` back as `?cursor=`. The cursor is opaque to clients.

Every list fetches `limit + 1` rows after the cursor's position and hands them to `cut`:
the extra row only says there is more."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

import msgspec

from sandbox.core.errors import ValidationFailed

MAX_LIMIT = 100

# A list answer's fields, described once for every page's Struct in the published spec.
HasMore = Annotated[bool, msgspec.Meta(description="Whether a next page exists")]
NextCursor = Annotated[str | None, msgspec.Meta(
    description="Pass it back as `?cursor=` for the next page; null on the last page")]

T = TypeVar("T")


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


def clamp(limit: int) -> int:
    """A requested page size within 1..MAX_LIMIT."""
    return max(1, min(limit, MAX_LIMIT))


@dataclass(slots=True)
class Page(Generic[T]):
    rows: list[T]
    has_more: bool
    next_cursor: str | None


def _number(row: Any) -> int:
    return row["number"]


def cut(rows: list[T], limit: int, kind: str = "p", position: Callable[[T], int] = _number) -> Page[T]:
    """`rows` were fetched with `limit + 1`: keep `limit`, and when there was one more,
    a cursor at the last kept row's `position` (its `number` column unless told)."""
    has_more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, has_more, encode_cursor(position(rows[-1]), kind) if has_more else None)
