"""Reading the request log: pages (the list's and the HAR export's), one entry.

A page is bounded in entries and in bytes whatever the log holds: an entry may hold two
64 KB bodies that grow up to six times when JSON escapes them (control characters), so
10,000 of them would make gigabytes. Rows are read a few at a time (`_BATCH`), each made
into its answer and measured as it comes, and the page ends before it would pass
PAGE_BYTES; its cursor resumes at the next entry. At most `_AT_ONCE` pages are made at a
time in a process (the others wait their turn), so the memory several clients can take
with them is bounded too."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import datetime
from time import perf_counter
from typing import TypeVar

import msgspec

from sandbox.core.clock import iso
from sandbox.core.errors import NotFound
from sandbox.core.pagination import Page, clamp, decode_cursor, encode_cursor
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


PAGE_BYTES = 8 * 1024 * 1024  # the most a page's entries may take, encoded as they are answered
_BATCH = 16  # rows read at a time: at most ~16 x 200 KB as the database hands them over
_AT_ONCE = asyncio.Semaphore(2)
_SLICE = 0.005  # seconds of making entries before a page rests as long
T = TypeVar("T")


async def bounded(merchant_id: str, filters: Filters, *, limit: int, cursor: str | None,
                  make: Callable[[object], T], size: Callable[[T], int]) -> Page[T]:
    """The newest `limit` matching entries after the cursor, as `make` answers each, as
    many as fit in PAGE_BYTES by `size` (always at least one, so paging moves on)."""
    before = decode_cursor(cursor)
    await WRITER.flush()  # this process's entries not yet written are part of the answer
    kept: list[T] = []
    total = 0
    busy = 0.0
    async with _AT_ONCE:
        while True:
            fetch = min(_BATCH, limit - len(kept) + 1)  # one more than needed says there is more
            rows = await store.newest_first(merchant_id, before=before, fetch=fetch,
                                            **msgspec.structs.asdict(filters))
            for row in rows:
                if len(kept) == limit:
                    return _more(kept, before)
                started = perf_counter()
                item = make(row)
                n = size(item)
                if kept and total + n > PAGE_BYTES:
                    return _more(kept, before)
                kept.append(item)
                total += n
                before = row["number"]
                busy += perf_counter() - started
                # An entry of escaped bodies takes milliseconds to make: past _SLICE of such
                # work, rest as long as it took, so other requests (`/ready`) find the loop
                # free at least half the time; a page of small entries never waits.
                await asyncio.sleep(busy if busy > _SLICE else 0)
                busy = 0.0 if busy > _SLICE else busy
            if len(rows) < fetch:
                return Page(kept, False, None)


def _more(kept: list[T], last: int | None) -> Page[T]:
    """A full page: the next one starts after its last entry (`last`, its number)."""
    assert last is not None  # a full page holds an entry
    return Page(kept, True, encode_cursor(last))


_ENCODER = msgspec.json.Encoder()


async def page(merchant_id: str, filters: Filters, *, limit: int, cursor: str | None) -> LoggedRequestPage:
    """A page as Structs (the dashboard's; measured as the API would answer it)."""
    found = await bounded(merchant_id, filters, limit=clamp(limit), cursor=cursor, make=to_api,
                          size=lambda e: len(_ENCODER.encode(e)))
    return LoggedRequestPage(found.rows, found.has_more, found.next_cursor)


async def encoded_page(merchant_id: str, filters: Filters, *, limit: int, cursor: str | None) -> AsyncIterator[bytes]:
    """The API's page, its entries encoded once each and sent one by one (`spliced`)."""
    found = await bounded(merchant_id, filters, limit=clamp(limit), cursor=cursor,
                          make=lambda row: _ENCODER.encode(to_api(row)), size=len)
    return spliced(_ENCODER.encode(LoggedRequestPage([], found.has_more, found.next_cursor)), b"data", found.rows)


async def spliced(document: bytes, field: bytes, items: Iterable[bytes]) -> AsyncIterator[bytes]:
    """The JSON `document`, whose `field` is an empty list, with `items` (encoded) in that
    list, as pieces to stream: a page is never joined into one more copy of itself, and
    each piece is written on its own turn of the event loop, so other requests go between."""
    head, tail = document.split(b'"' + field + b'":[]', 1)
    yield head + b'"' + field + b'":['
    for i, item in enumerate(items):
        if i:
            yield b","
        yield item
    yield b"]" + tail


async def one(merchant_id: str, request_id: str) -> LoggedRequest:
    await WRITER.flush()
    row = await store.one(merchant_id, request_id)
    if row is None:
        raise NotFound(f"No request {request_id} in the log")
    return to_api(row)
