"""Public object ids: a short type prefix and 24 hex digits, e.g. `po_01a223c3bdcf4a69d08f7408`:
the wall clock's milliseconds (48 bits, as a UUIDv7 starts), then 48 random bits (ids made
before 28 Nov are 96 random bits, of the same form). Ids made one after another sort one
after another, so a new row's entry goes to the right-hand end of each index on its id (the
primary keys, `one_per_generation`, the columns that name a payout, event or delivery)
rather than onto any page of it. After a checkpoint the first change of a page writes the
whole page to the WAL: random ids made that a page image for most new entries (3.5 KB of
the 24 KB of WAL a payout in the cost bench, docs/benchmark.md), ordered ids one for the
few pages at the end. 48 random bits keep ids of one millisecond apart; ids are names,
not secrets (what one names is read within its merchant or team only).

Request ids: every response carries `X-Request-ID`: the client's own when it sent a sane one,
otherwise a fresh one. Problem bodies and logs carry the same id. The header is added
by the request-observing wrapper (observability/observe.py), which sees every response, router
404s included."""

from __future__ import annotations

import re
import secrets
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from litestar.types import Scope


def new_id(prefix: str) -> str:
    return f"{prefix}_{ordered_hex()}"


def ordered_hex() -> str:
    """24 hex digits: the wall clock's milliseconds, then 48 random bits."""
    return f"{time.time_ns() // 1_000_000:012x}{secrets.token_hex(6)}"


REQUEST_ID_HEADER = b"x-request-id"
_SANE = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def ensure_request_id(scope: Scope) -> str:
    state = scope.setdefault("state", {})
    rid = state.get("request_id")
    if rid:
        return rid
    rid = ""
    for name, value in scope.get("headers", []):
        if name == REQUEST_ID_HEADER:
            candidate = value.decode("latin-1")
            if _SANE.fullmatch(candidate):
                rid = candidate
            break
    rid = rid or "req_" + secrets.token_hex(12)
    state["request_id"] = rid
    return rid
