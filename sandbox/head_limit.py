"""A size limit on a request's head (request line and headers), for every HTTP process we
serve (`sandbox api`, `sandbox ipn`). uvicorn's httptools protocol has none: httptools
gathers a header of any size in memory (one 100 MiB header took the API 14 s and 400 MB,
and held up every other client meanwhile), and uvicorn's limit option is for its h11
protocol only (which answers 400, not 431). So the httptools protocol gets one here:
it still does all the parsing; this only counts the bytes that arrive while a head is
being read and, past HEAD_MAX_BYTES, answers 431 and closes the connection, before any
key is checked. Memory per connection stays under the limit plus one read (at most
256 KiB with uvloop), whatever the client sends."""

from __future__ import annotations

import logging
import secrets

import msgspec
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from sandbox.core.errors import PROBLEM_JSON, PROBLEM_TYPE_BASE, HeadersTooLarge, Problem

# As large as a head gets in practice (Node's default is 16 KiB, nginx's largest 32 KiB
# buffers), far below what hurts: 32 KiB for the request line and headers together.
HEAD_MAX_BYTES = 32 * 1024

log = logging.getLogger("sandbox.http")


def _answer_431(request_id: str) -> bytes:
    error = HeadersTooLarge(f"The request line and headers may be at most {HEAD_MAX_BYTES} bytes together")
    body = msgspec.json.encode(Problem(type=PROBLEM_TYPE_BASE + error.code, title=error.title, status=error.status,
                                       detail=error.detail, code=error.code,
                                       request_id=request_id))
    return b"".join([STATUS_LINE[431], b"content-type: ", PROBLEM_JSON.encode(), b"\r\ncontent-length: ",
                     str(len(body)).encode(), b"\r\nconnection: close\r\n\r\n", body])


class _HeadTooLarge(Exception):
    """Raised in a parser callback: stops the parser, and uvicorn answers (see below)."""


class HeadLimitedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with HEAD_MAX_BYTES (pass it as uvicorn's `http`).

    Two counts, as a head may end or not: a head that arrives whole is measured exactly
    from what the parser hands over (the URL, each header) when it ends; one that does
    not end yet is measured by the bytes that arrived since the request began."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True  # the bytes arriving belong to a request line or headers
        self._head_bytes = 0  # bytes that arrived while in the head
        self._head_size = 0  # the request line and headers the parser handed over
        self._too_large = False

    def data_received(self, data: bytes) -> None:
        if self.transport.is_closing():
            return
        if self._in_head:
            self._head_bytes += len(data)
        super().data_received(data)
        if self._in_head and self._head_bytes > HEAD_MAX_BYTES and not self.transport.is_closing():
            self._too_large = True
            self.send_400_response("")

    def on_url(self, url: bytes) -> None:
        self._head_size += len(url)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_size += len(name) + len(value) + 4  # ": " and CRLF
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if self._head_size > HEAD_MAX_BYTES:
            self._too_large = True
            raise _HeadTooLarge  # uvicorn's data_received answers a parser error: send_400_response
        self._in_head = False  # a body may follow: limited by the app, per route
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head, self._head_bytes, self._head_size = True, 0, 0  # the next request on this connection

    def send_400_response(self, msg: str) -> None:
        if not self._too_large:
            super().send_400_response(msg)
            return
        request_id = "req_" + secrets.token_hex(12)
        log.warning("request line and headers over %d bytes from %s: answered 431", HEAD_MAX_BYTES,
                    self.client[0] if self.client else "?", extra={"request_id": request_id, "status": 431})
        self.transport.write(_answer_431(request_id))
        self.transport.close()
