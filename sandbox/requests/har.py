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
from sandbox.core.types import said
from sandbox.requests.entry import BODY_MAX
from sandbox.requests.schemas import DURATION_SAID

VERSION = "1.2"
BODY_KB = BODY_MAX // 1024


class NameValue(msgspec.Struct):
    name: Annotated[str, said("The header's or query parameter's name, as sent")]
    value: Annotated[str, said("Its value, as sent (decoded for a query parameter; secrets redacted)")]


class PostData(msgspec.Struct):
    mimeType: Annotated[str, said("The body's `Content-Type`; `application/json` when none was sent")]
    text: Annotated[str, said(f"The body as text, cut at {BODY_KB} KB, secrets redacted; empty when the log "
                              "did not keep it (a large upload)")]


class Request(msgspec.Struct, omit_defaults=True):
    """The request as it arrived (HAR 1.2 `request`)."""

    method: Annotated[str, said("The HTTP method")]
    url: Annotated[str, said("The absolute URL: the sandbox's base URL, the path and the query string")]
    httpVersion: Annotated[str, said("Always `HTTP/1.1`")]
    cookies: Annotated[list[NameValue], said("Always empty: the log keeps no cookies")]
    headers: Annotated[list[NameValue], said("Its headers as sent, less the API key and other credentials")]
    queryString: Annotated[list[NameValue], said("The query string's parameters, decoded, in order")]
    headersSize: Annotated[int, said("Always -1, HAR's \"not known\"")]
    bodySize: Annotated[int, said("The body's size in bytes as sent; 0 without a body")]
    postData: Annotated[PostData | None, said("The body; absent without one")] = None


class Content(msgspec.Struct):
    """The answer's body (HAR 1.2 `content`)."""

    size: Annotated[int, said("The body's size in bytes as answered (before `text` was cut)")]
    mimeType: Annotated[str, said("The answer's `Content-Type`; `application/json` when it had none")]
    text: Annotated[str, said(f"The body as text, cut at {BODY_KB} KB, secrets redacted")]


class Response(msgspec.Struct):
    """The true answer (HAR 1.2 `response`); `_fault` says what the client got instead."""

    status: Annotated[int, said("The answer's HTTP status")]
    statusText: Annotated[str, said("Its reason phrase (`Created`); empty for a status without one")]
    httpVersion: Annotated[str, said("Always `HTTP/1.1`")]
    cookies: Annotated[list[NameValue], said("Always empty: the sandbox sets no cookies")]
    headers: Annotated[list[NameValue], said("The answer's headers, secrets redacted")]
    content: Content
    redirectURL: Annotated[str, said("Always empty: the sandbox does not redirect")]
    headersSize: Annotated[int, said("Always -1, HAR's \"not known\"")]
    bodySize: Annotated[int, said("The body's size in bytes as answered")]


class Timings(msgspec.Struct):
    """How `time` divides (HAR 1.2 `timings`, milliseconds): the log measures only the whole."""

    send: Annotated[float, said("Always 0: not measured apart")]
    wait: Annotated[float, said("All of `time`")]
    receive: Annotated[float, said("Always 0: not measured apart")]


class Entry(msgspec.Struct, rename={"request_id": "_requestId", "idempotency_key": "_idempotencyKey",
                                    "idempotency_outcome": "_idempotencyOutcome", "fault": "_fault",
                                    "object_ids": "_objectIds", "route": "_route"}):
    startedDateTime: Annotated[str, said("When the request arrived (RFC 3339, milliseconds), on the merchant's "
                                         "clock")]
    time: Annotated[float, said(DURATION_SAID)]
    request: Request
    response: Response
    cache: Annotated[dict, said("Always `{}`: the sandbox keeps no cache")]
    timings: Timings
    request_id: Annotated[str, said("The request's `X-Request-ID` (the client's own when it sent one), its id "
                                    "in GET /sandbox/requests/{request_id}")]
    route: Annotated[str, said("The route template it matched, e.g. `/api/v1/payouts/{payout_id}`")]
    idempotency_key: Annotated[str | None, said("Its `Idempotency-Key`; null without one")]
    idempotency_outcome: Annotated[str | None, said(
        "`first` use of the key, `replayed` stored answer, `conflict` (the key was used with another body), "
        "`in_flight` (another request held it); null without a key")]
    fault: Annotated[str | None, said("The fault the client got instead of `response` (`unavailable`, "
                                      "`rate_limited`, `slow`, `response_lost`, `timeout`, "
                                      "`error_after_commit`); null: it got `response`")]
    object_ids: Annotated[list[str], said("Objects it created or acted on")]


class Creator(msgspec.Struct):
    """What wrote the document (HAR 1.2 `creator`)."""

    name: Annotated[str, said("Always `MyPay Sandbox`")]
    version: Annotated[str, said("The sandbox's version")]


class Log(msgspec.Struct, rename={"has_more": "_hasMore", "next_cursor": "_nextCursor"}):
    """The request log as HAR 1.2 (`log`): one page of it, newest entry first."""

    version: Annotated[str, said(f"The HAR format's version, `{VERSION}`")]
    creator: Creator
    entries: Annotated[list[Entry], said("This page's logged requests, newest first")]
    has_more: Annotated[bool, msgspec.Meta(
        description="More entries match than this page holds (at most 1,000 entries and 8 MiB of them): the older"
                    " ones are at `?cursor=` `_nextCursor`, also in the `Link` header")]
    next_cursor: Annotated[str | None, said("Pass it back as `?cursor=` for the next, older page; null on the "
                                            "last page")]


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
