"""Public object ids: a short type prefix and 96 random bits, e.g. `po_3f9c…`.

Request ids: every response carries `X-Request-ID`: the client's own when it sent a sane one,
otherwise a fresh one. Problem bodies and logs carry the same id. The header is added
by the request-observing wrapper (observability/observe.py), which sees every response, router
404s included."""

from __future__ import annotations

import re
import secrets
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from litestar.types import Scope


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


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
