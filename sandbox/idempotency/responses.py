"""The answers the idempotency middleware keeps and gives again: a handler's answer is
captured rather than sent (so it can be stored with the effect, or dropped with a
rollback), and a stored answer is sent as a replay."""

from __future__ import annotations

import msgspec
from litestar.types import Message, Send

# Only these of a handler's headers are stored for replays; the first answer has them all.
REPLAYED_HEADERS = frozenset({"content-type", "location"})


class StoredResponse(msgspec.Struct):
    status: int
    headers: list[tuple[str, str]]
    body: bytes


class Capture:
    """A `send` that keeps the handler's answer instead of sending it."""

    def __init__(self) -> None:
        self.status = 500
        self.headers: list[tuple[str, str]] = []
        self.body = bytearray()

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in message.get("headers", [])]
        elif message["type"] == "http.response.body":
            self.body.extend(message.get("body", b""))

    def stored(self) -> StoredResponse:
        kept = [(k, v) for k, v in self.headers if k.lower() in REPLAYED_HEADERS]
        return StoredResponse(status=self.status, headers=kept, body=bytes(self.body))

    def error_code(self) -> str | None:
        try:
            return msgspec.json.decode(bytes(self.body)).get("code")
        except (msgspec.DecodeError, AttributeError):
            return None


async def send_stored(send: Send, response: StoredResponse, replayed: bool) -> None:
    headers = [
        (k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers if k.lower() != "content-length"
    ]
    if replayed:
        headers.append((b"idempotent-replayed", b"true"))
    headers.append((b"content-length", str(len(response.body)).encode()))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body, "more_body": False})
