"""Every tool's answer fits an agent's context: its text and its structured content
together at most MAX_BYTES, each the same compact JSON of at most PART_BYTES. Lists that
grow are paged by the API (`limit`, `cursor`); what is still too long (a request body, a
receiver's answer) is cut here, shorter and shorter until it fits, and the answer says
what was cut and how to see the rest. Errors are cut at MAX_ERROR characters."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import quote

from pydantic import Field

MAX_BYTES = 24_000  # what the agent receives of one answer: its text and its structured content together
PART_BYTES = 11_000  # each of the two (a margin for clients that re-serialize with spaces)
MAX_ERROR = 2_000  # characters of an error's words
PAGE_DEFAULT = 10
PAGE_MOST = 50
Limit = Annotated[int, Field(ge=1, le=PAGE_MOST, description=f"items on this page (at most {PAGE_MOST})")]
Cursor = Annotated[str | None, Field(max_length=200, description="next_cursor of the previous page; none: the first")]
# (characters of one string, items of one list), tried in turn until the answer fits
CUTS = ((4000, 50), (1000, 20), (300, 10), (80, 5), (40, 2))


def segment(value: str) -> str:
    """An id an agent gave, safe as one segment of the API's path."""
    return quote(value, safe="")


def compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def cut_words(text: str, most: int) -> str:
    return text if len(text) <= most else text[:most] + f"… ({len(text) - most} more characters)"


def fit(answer: dict[str, Any], most: int = PART_BYTES) -> dict[str, Any]:
    if _size(answer) <= most:
        return answer
    for chars, items in CUTS:
        cut = _cut(answer, chars, items)
        cut["cut"] = (f"this answer was over {most} bytes: strings are cut at {chars} characters and "
                      f"lists at {items} items; ask for a smaller page, or for one object by its id")
        if _size(cut) <= most:
            return cut
    return {"cut": f"this answer was over {most} bytes even cut short: ask for a smaller page"}


def _cut(value: Any, chars: int, items: int) -> Any:
    if isinstance(value, str):
        return cut_words(value, chars)
    if isinstance(value, list):
        kept = [_cut(v, chars, items) for v in value[:items]]
        return kept + ([f"… {len(value) - items} more"] if len(value) > items else [])
    if isinstance(value, dict):
        return {k: _cut(v, chars, items) for k, v in value.items()}
    return value


def _size(value: Any) -> int:
    return len(compact(value).encode())
