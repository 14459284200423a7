"""One request as it is recorded while it runs: the gate begins it, its `send` captures
the true answer (before any fault changes what the client gets), and the idempotency
middleware tells it the key's outcome and the request body.

Bodies are cut at BODY_MAX bytes (their full size is kept). Request headers are kept
except the credentials: the API key header never reaches the log, and every secret the
entry holds anywhere (a body, a header, the query string, the idempotency key) is
redacted as the row is made (redaction.py), the one place every entry passes. Redaction
reads the bytes as received, before anything cuts or re-encodes them: a body is cut only
after it (a secret across the cut would otherwise leave its first part), and a header
value is redacted before the headers are stored as JSON (which doubles every backslash of
a `\\u`-escaped secret, so the escaped spellings no longer match)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from datetime import datetime
from itertools import chain
from operator import attrgetter
from time import perf_counter

import msgspec
from litestar.types import HTTPScope, Message, Scope, Send

from sandbox.requests.redaction import redactor

BODY_MAX = 65_536
# Bodies are kept this far past BODY_MAX until redaction has read them, so that a secret
# across the cut is still whole then: a 1,365-character secret with every character
# JSON-escaped (`\u00XX`, six bytes each). Not further: redacting a whole 1 MiB body of
# escapes would hold the event loop for tens of milliseconds.
_BODY_SLACK = 8_192
_KEPT = BODY_MAX + _BODY_SLACK
_API_KEY_HEADER = b"x-api-key"
_SECRET_HEADERS = frozenset({_API_KEY_HEADER, b"authorization", b"cookie", b"proxy-authorization"})
# An answer naming the object it made or showed starts with its id (msgspec keeps field order).
_ANSWERED_ID = re.compile(rb'\{"id":"([a-z]{2,8}_[0-9A-Za-z]{1,64})"')
_ID = re.compile(r"^[a-z]{2,8}_[0-9A-Za-z]{1,64}$")
STATE = "request_log_entry"  # where the scope's state keeps the request's entry


async def _nowhere(message: Message) -> None:
    raise RuntimeError("the entry's capture() was not given the request's send")


class Entry:
    __slots__ = ("request_id", "merchant_id", "at", "started", "method", "route", "path", "request_headers",
                 "status", "response_headers", "response_body", "response_size", "request_body", "request_size",
                 "idempotency_key", "outcome", "fault", "object_ids", "written", "duration_ms", "downstream",
                 "rate_headers", "secrets")

    def __init__(self, scope: HTTPScope, request_id: str, merchant_id: str, at: datetime,
                 secrets: tuple[str, ...] = ()) -> None:
        # Only what the request gives at once is taken here, as it is: headers are decoded
        # and encoded once, in `record`, which runs for every entry (the log's cost is paid
        # on every request; `docs/benchmark.md` has its figures).
        self.request_id = request_id
        self.merchant_id = merchant_id
        self.at = at
        self.started = perf_counter()
        self.method = scope["method"]
        self.route = scope.get("path_template") or scope["path"]
        query = scope.get("query_string", b"")
        self.path = scope["path"] + ("?" + query.decode("latin-1") if query else "")
        self.request_headers = scope["headers"]
        self.status = 0
        self.response_headers: Iterable[tuple[bytes, bytes]] = ()
        self.response_body = b""
        self.response_size = 0
        self.request_body: bytes | None = None
        self.request_size = 0
        self.idempotency_key: str | None = None
        self.outcome: str | None = None
        self.fault: str | None = None
        params = scope.get("path_params")
        self.object_ids = [v for v in params.values() if isinstance(v, str) and _ID.match(v)] if params else []
        self.written = False
        self.duration_ms = 0.0
        self.downstream: Send = _nowhere  # where the captured answer goes on (`capture`; a fault may change it)
        self.rate_headers: Sequence[tuple[bytes, bytes]] = ()  # the gate's RateLimit headers, for `answered`
        self.secrets = secrets  # the merchant's, to redact by value (with the request's key: `record`)

    def clone(self) -> Entry:
        """Another entry with the same facts, to fill in without changing this one (slot by
        slot: `copy.copy` goes through `__reduce_ex__`, several times slower on POST's path)."""
        other = Entry.__new__(Entry)
        for name, value in zip(Entry.__slots__, _SLOTS(self), strict=True):
            setattr(other, name, value)
        other.object_ids = list(self.object_ids)
        return other

    def took_body(self, body: bytes | None, size: int) -> None:
        self.request_body = body[:_KEPT] if body is not None else None  # cut to BODY_MAX in `record`, after redaction
        self.request_size = size

    def answered(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        """The true answer, known at once (the idempotency middleware's captured one)."""
        self.status = status
        self.response_headers = [*((k.encode("latin-1"), v.encode("latin-1")) for k, v in headers), *self.rate_headers]
        self.response_body = body[:_KEPT]  # as the request body
        self.response_size = len(body)

    def capture(self, send: Send, before_last: Callable[[], Awaitable[None]] | None = None) -> Send:
        """`send` that records the answer on its way; the fault (set on `downstream` later)
        sees it after this record, so the log keeps the true answer. `before_last` runs
        before the answer's last bytes go on."""
        self.downstream = send

        async def captured(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.status = message["status"]
                self.response_headers = message.get("headers", ())
                self.response_body = b""
                self.response_size = 0
            elif message["type"] == "http.response.body":
                chunk = message.get("body", b"")
                self.response_size += len(chunk)
                if not self.response_body:  # most answers are one chunk: kept as it is
                    self.response_body = chunk[:_KEPT]
                elif len(self.response_body) < _KEPT:
                    self.response_body = (self.response_body + chunk)[:_KEPT]
                if before_last is not None and not message.get("more_body", False):
                    await before_last()
            await self.downstream(message)

        return captured

    def finish(self) -> None:
        self.duration_ms = round((perf_counter() - self.started) * 1000, 3)
        # A read names its object in its path; only a write's answer may name one it made.
        if self.method != "GET" and 200 <= self.status < 300:
            found = _ANSWERED_ID.match(self.response_body)
            if found and (made := found.group(1).decode()) not in self.object_ids:
                self.object_ids.append(made)

    def record(self) -> tuple:
        """The row, in `store.COLUMNS` order, every field the client could fill redacted."""
        key = next((v.decode("latin-1") for k, v in self.request_headers if k == _API_KEY_HEADER), None)
        hide = redactor((*self.secrets, key) if key else self.secrets)
        request_body, response_body = self.request_body, self.response_body
        request_headers = _headers_json(self.request_headers, _SECRET_HEADERS)
        response_headers = _headers_json(self.response_headers, ())
        texts = "\0".join((self.request_id, self.route, self.path, self.idempotency_key or "", *self.object_ids))
        everything = b"\0".join((texts.encode("utf-8", "surrogatepass"), request_headers, response_headers,
                                  request_body or b"", response_body))
        # One look at all of it: nearly every entry holds no secret, and costs a few substring
        # tests. The headers' JSON is looked at, which holds every secret its values hold
        # (JSON escapes only `"`, `\` and control characters, and adds a backslash for them).
        if not hide.may_hold(everything):
            return (self.request_id, self.merchant_id, self.at, self.method, self.route[:255], self.path,
                    self.status, self.duration_ms, self.idempotency_key, self.outcome, self.fault, self.object_ids,
                    request_headers.decode(), response_headers.decode(),
                    request_body[:BODY_MAX] if request_body is not None else None, response_body[:BODY_MAX],
                    self.request_size, self.response_size)
        text = hide.text
        key_used = text(self.idempotency_key)[:255] if self.idempotency_key is not None else None
        hidden_request = hide(request_body)
        # Cut to the columns' widths again: a secret found by its shape may be shorter than its marker.
        return (text(self.request_id)[:128], self.merchant_id, self.at, self.method, text(self.route)[:255],
                text(self.path), self.status, self.duration_ms, key_used, self.outcome, self.fault,
                [text(i) for i in self.object_ids],
                _headers_json(self.request_headers, _SECRET_HEADERS, hide).decode(),
                _headers_json(self.response_headers, (), hide).decode(),
                hidden_request[:BODY_MAX] if hidden_request is not None else None,
                (hide(response_body) or b"")[:BODY_MAX], self.request_size, self.response_size)


_SLOTS = attrgetter(*Entry.__slots__)


def _headers_json(headers: Iterable[tuple[bytes, bytes]], leave_out: Collection[bytes],
                  hide: Callable[[bytes], bytes | None] | None = None) -> bytes:
    """Headers as the JSON list of [name, value] pairs the log stores, less `leave_out`;
    with `hide`, each name and value redacted as it came, before JSON escapes it."""
    if hide is None:
        pairs = [pair for pair in headers if pair[0] not in leave_out] if leave_out else list(headers)
    else:
        pairs = [(hide(k) or b"", hide(v) or b"") for k, v in headers if k not in leave_out]
    # Every name and value decoded in one go, a NUL between them, then paired again; one by
    # one should a NUL be inside one (HTTP allows none there).
    texts = b"\0".join(chain.from_iterable(pairs)).decode("latin-1").split("\0") if pairs else []
    if len(texts) != 2 * len(pairs):
        return msgspec.json.encode([(k.decode("latin-1"), v.decode("latin-1")) for k, v in pairs])
    it = iter(texts)
    return msgspec.json.encode(list(zip(it, it, strict=True)))  # an even count, checked above


def of(scope: Scope) -> Entry | None:
    return scope["state"].get(STATE)
