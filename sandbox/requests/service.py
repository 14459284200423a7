"""Reading the request log: pages, one entry, everything for the HAR export."""

from __future__ import annotations

from datetime import datetime

import msgspec

from sandbox.core.clock import iso
from sandbox.core.errors import NotFound
from sandbox.core.pagination import clamp, cut, decode_cursor
from sandbox.requests import store
from sandbox.requests.schemas import Header, LoggedRequest, LoggedRequestPage
from sandbox.requests.writer import WRITER


def _text(raw: bytes | None) -> str | None:
    return bytes(raw).decode("utf-8", "replace") if raw is not None else None


def to_api(row) -> LoggedRequest:
    # duration_ms is stored as a real: read back, 4.675 would show as 4.675000190734863.
    return LoggedRequest(
        id=row["id"], object="request", at=iso(row["at"]), method=row["method"], route=row["route"],
        path=row["path"], status=row["status"], duration_ms=round(row["duration_ms"], 3),
        idempotency_key=row["idempotency_key"], idempotency_outcome=row["idempotency_outcome"], fault=row["fault"],
        object_ids=list(row["object_ids"]),
        request_headers=[Header(k, v) for k, v in msgspec.json.decode(row["request_headers"])],
        response_headers=[Header(k, v) for k, v in msgspec.json.decode(row["response_headers"])],
        request_body=_text(row["request_body"]), request_body_size=row["request_body_size"],
        response_body=_text(row["response_body"]) or "", response_body_size=row["response_body_size"],
    )


class Filters(msgspec.Struct, frozen=True):
    idempotency_key: str | None = None
    method: str | None = None
    path: str | None = None
    status: int | None = None
    since: datetime | None = None
    object_id: str | None = None


async def page(merchant_id: str, filters: Filters, *, limit: int, cursor: str | None) -> LoggedRequestPage:
    await WRITER.flush()  # this process's entries not yet written are part of the answer
    limit = clamp(limit)
    rows = await store.newest_first(merchant_id, before=decode_cursor(cursor), fetch=limit + 1,
                                    **msgspec.structs.asdict(filters))
    found = cut(rows, limit)
    return LoggedRequestPage([to_api(r) for r in found.rows], found.has_more, found.next_cursor)


async def every(merchant_id: str, filters: Filters, most: int) -> list:
    """The newest `most` matching rows, newest first (the HAR export)."""
    await WRITER.flush()
    return await store.newest_first(merchant_id, before=None, fetch=most, **msgspec.structs.asdict(filters))


async def one(merchant_id: str, request_id: str) -> LoggedRequest:
    await WRITER.flush()
    row = await store.one(merchant_id, request_id)
    if row is None:
        raise NotFound(f"No request {request_id} in the log")
    return to_api(row)
