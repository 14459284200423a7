"""The request log as HAR 1.2 (the HTTP Archive format browser dev tools, Insomnia and
har-to-k6 import). No maintained Python library writes HAR, so the format's objects are
Structs here, each with the fields HAR 1.2 requires; the sandbox's own facts go in
underscore fields, which the format leaves to applications (`_idempotencyKey`, `_fault`...).

The response is the true answer; `_fault` says what the client got instead (nothing at
all, a 500, or the answer late)."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated
from urllib.parse import parse_qsl

import msgspec

from sandbox.core.clock import iso

VERSION = "1.2"


class NameValue(msgspec.Struct):
    name: str
    value: str


class PostData(msgspec.Struct):
    mimeType: str
    text: str


class Request(msgspec.Struct, omit_defaults=True):
    method: str
    url: str
    httpVersion: str
    cookies: list[NameValue]
    headers: list[NameValue]
    queryString: list[NameValue]
    headersSize: int
    bodySize: int
    postData: PostData | None = None


class Content(msgspec.Struct):
    size: int
    mimeType: str
    text: str


class Response(msgspec.Struct):
    status: int
    statusText: str
    httpVersion: str
    cookies: list[NameValue]
    headers: list[NameValue]
    content: Content
    redirectURL: str
    headersSize: int
    bodySize: int


class Timings(msgspec.Struct):
    send: float
    wait: float
    receive: float


class Entry(msgspec.Struct, rename={"request_id": "_requestId", "idempotency_key": "_idempotencyKey",
                                    "idempotency_outcome": "_idempotencyOutcome", "fault": "_fault",
                                    "object_ids": "_objectIds", "route": "_route"}):
    startedDateTime: str
    time: float
    request: Request
    response: Response
    cache: dict
    timings: Timings
    request_id: str
    route: str
    idempotency_key: str | None
    idempotency_outcome: str | None
    fault: str | None
    object_ids: list[str]


class Creator(msgspec.Struct):
    name: str
    version: str


class Log(msgspec.Struct, rename={"has_more": "_hasMore", "next_cursor": "_nextCursor"}):
    version: str
    creator: Creator
    entries: list[Entry]
    has_more: Annotated[bool, msgspec.Meta(
        description="More entries match than this page holds (at most 1,000 entries and 8 MiB of them): the older"
                    " ones are at `?cursor=` `_nextCursor`, also in the `Link` header")]
    next_cursor: str | None


class Har(msgspec.Struct):
    log: Log


def _headers(raw: bytes | str) -> list[NameValue]:
    return [NameValue(k, v) for k, v in msgspec.json.decode(raw)]


def _mime(headers: list[NameValue], default: str) -> str:
    return next((h.value for h in headers if h.name.lower() == "content-type"), default)


def _text(raw: bytes | None) -> str:
    return bytes(raw).decode("utf-8", "replace") if raw is not None else ""


def _status_text(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def entry(row, base_url: str) -> Entry:
    request_headers = _headers(row["request_headers"])
    response_headers = _headers(row["response_headers"])
    path, _, query = row["path"].partition("?")
    body = row["request_body"]
    post = PostData(_mime(request_headers, "application/json"), _text(body)) if row["request_body_size"] else None
    return Entry(
        startedDateTime=iso(row["at"]), time=row["duration_ms"],
        request=Request(method=row["method"], url=base_url + row["path"], httpVersion="HTTP/1.1", cookies=[],
                        headers=request_headers,
                        queryString=[NameValue(k, v) for k, v in parse_qsl(query, keep_blank_values=True)],
                        headersSize=-1, bodySize=row["request_body_size"], postData=post),
        response=Response(status=row["status"], statusText=_status_text(row["status"]), httpVersion="HTTP/1.1",
                          cookies=[], headers=response_headers,
                          content=Content(row["response_body_size"], _mime(response_headers, "application/json"),
                                          _text(row["response_body"])),
                          redirectURL="", headersSize=-1, bodySize=row["response_body_size"]),
        cache={}, timings=Timings(send=0, wait=row["duration_ms"], receive=0),
        request_id=row["id"], route=row["route"], idempotency_key=row["idempotency_key"],
        idempotency_outcome=row["idempotency_outcome"], fault=row["fault"], object_ids=list(row["object_ids"]),
    )


_ENCODER = msgspec.json.Encoder()


def encoded(row, base_url: str) -> bytes:
    """One entry as it goes in the document: encoded once, measured as it is (service.bounded)."""
    return _ENCODER.encode(entry(row, base_url))


def empty(version: str, has_more: bool, next_cursor: str | None) -> bytes:
    """The document with no entry, for a page's entries to go in (service.spliced)."""
    return _ENCODER.encode(Har(Log(VERSION, Creator("MyPay Sandbox", version), [], has_more, next_cursor)))
