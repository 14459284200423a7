"""Every tool's answer fits an agent's context: at most MAX_BYTES of JSON. Lists that
grow are paged by the API (`limit`, `cursor`); what is still too long (a request body, a
receiver's answer) is cut here, shorter and shorter until it fits, and the answer says
what was cut and how to see the rest."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import quote

from pydantic import Field

MAX_BYTES = 24_000  # the JSON of one answer; the SDK sends it as text and as structured content
PAGE_DEFAULT = 10
PAGE_MOST = 50
# (characters of one string, items of one list), tried in turn until the answer fits
Limit = Annotated[int, Field(ge=1, le=PAGE_MOST, description=f"items on this page (at most {PAGE_MOST})")]
Cursor = Annotated[str | None, Field(max_length=200, description="next_cursor of the previous page; none: the first")]
CUTS = ((4000, 50), (1000, 20), (300, 10), (80, 5), (40, 2))


def segment(value: str) -> str:
    """An id an agent gave, safe as one segment of the API's path."""
    return quote(value, safe="")


def fit(answer: dict[str, Any]) -> dict[str, Any]:
    if _size(answer) <= MAX_BYTES:
        return answer
    for chars, items in CUTS:
        cut = _cut(answer, chars, items)
        cut["cut"] = (f"this answer was over {MAX_BYTES} bytes: strings are cut at {chars} characters and "
                      f"lists at {items} items; ask for a smaller page, or for one object by its id")
        if _size(cut) <= MAX_BYTES:
            return cut
    return {"cut": f"this answer was over {MAX_BYTES} bytes even cut short: ask for a smaller page"}


def _cut(value: Any, chars: int, items: int) -> Any:
    if isinstance(value, str):
        return value if len(value) <= chars else value[:chars] + f"… ({len(value) - chars} more characters)"
    if isinstance(value, list):
        kept = [_cut(v, chars, items) for v in value[:items]]
        return kept + ([f"… {len(value) - items} more"] if len(value) > items else [])
    if isinstance(value, dict):
        return {k: _cut(v, chars, items) for k, v in value.items()}
    return value


def _size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False).encode())
