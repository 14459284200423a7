"""One page of rows ordered by their `number` column: fetch `limit + 1`, keep `limit`."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from sandbox.core.pagination import MAX_LIMIT, decode_cursor, encode_cursor


def clamp(limit: int) -> int:
    return max(1, min(limit, MAX_LIMIT))


def after(cursor: str | None, kind: str = "p") -> int | None:
    """The `number` a page continues from (400 for a cursor this API did not make)."""
    return decode_cursor(cursor, kind)


@dataclass(slots=True)
class Page:
    rows: list[asyncpg.Record]
    has_more: bool
    next_cursor: str | None


def cut(rows: list[asyncpg.Record], limit: int, kind: str = "p") -> Page:
    """`rows` were fetched with `limit + 1`: the extra one only says there is more."""
    has_more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, has_more, encode_cursor(rows[-1]["number"], kind) if has_more else None)
