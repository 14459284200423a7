"""A size limit on a request's head (request line and headers), for every HTTP process we
serve (`sandbox api`, `sandbox ipn`). uvicorn's httptools protocol has none: httptools
gathers a header of any size in memory (one 100 MiB header took the API 14 s and 400 MB,
and held up every other client meanwhile), and the trailers after a chunked body alike;
uvicorn's limit option is for its h11 protocol only (which answers 400, not 431). So the
httptools protocol gets one here: it still does all the parsing; this only counts bytes
and, past HEAD_MAX_BYTES, answers 431 and closes the connection, before any key is
checked. Memory per connection stays under the limit plus one read (at most 256 KiB with
uvloop), whatever the client sends."""

from __future__ import annotations

import logging
import secrets
from itertools import chain

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

    A head that arrives whole is measured exactly when it ends, from what the parser
    handed over (the URL, each header, as uvicorn gathered them). Bytes that are not body
    are also counted as they arrive, a run of them ended only by body bytes or a request's
    end: that catches a head that never ends, and trailers after a chunked body (httptools gathers those the
    same way) that never end either. Chunk framing between body bytes is a few bytes."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._not_body = 0  # bytes in a row that were no body: a head, trailers
        self._body_bytes = 0  # body bytes the parser handed over on this connection
        self._too_large = False

    def data_received(self, data: bytes) -> None:
        if self.transport.is_closing():
            return
        body_before = self._body_bytes
        super().data_received(data)
        if body := self._body_bytes - body_before:
            self._not_body = len(data) - body  # at most what this read held besides body
        else:
            self._not_body += len(data)
        if self._not_body > HEAD_MAX_BYTES and not self.transport.is_closing():
            self._too_large = True
            self.send_400_response("")

    def on_headers_complete(self) -> None:
        # The URL and the headers as uvicorn gathered them (lower-cased names keep their
        # length), each header with its ": " and CRLF; measured once, in C, rather than in a
        # callback of ours for each header.
        headers = self.headers
        if len(self.url) + len(b"".join(chain.from_iterable(headers))) + 4 * len(headers) > HEAD_MAX_BYTES:
            self._too_large = True
            raise _HeadTooLarge  # uvicorn's data_received answers a parser error: send_400_response
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        self._body_bytes += len(body)
        super().on_body(body)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._not_body = 0  # the next request on this connection starts afresh

    def send_400_response(self, msg: str) -> None:
        if not self._too_large:
            super().send_400_response(msg)
            return
        request_id = "req_" + secrets.token_hex(12)
        log.warning("request line and headers over %d bytes from %s: answered 431", HEAD_MAX_BYTES,
                    self.client[0] if self.client else "?", extra={"request_id": request_id, "status": 431})
        self.transport.write(_answer_431(request_id))
        self.transport.close()
