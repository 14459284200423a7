"""Request bodies read by middleware: large ones go to disk and come back whole; a
multipart body's content digest does not depend on the boundary."""

import os

import httpx

from sandbox.idempotency.body import MEMORY_BYTES, read_body, replay_receive


def _receive_from(data: bytes, chunk: int = 65_536):
    parts = [data[i:i + chunk] for i in range(0, len(data), chunk)] or [b""]

    async def receive():
        body = parts.pop(0)
        return {"type": "http.request", "body": body, "more_body": bool(parts)}

    return receive


def _scope(content_type: bytes) -> dict:
    return {"type": "http", "headers": [(b"content-type", content_type)]}


async def _replayed(body) -> bytes:
    receive = replay_receive(body, None)
    out = bytearray()
    while True:
        message = await receive()
        out.extend(message["body"])
        if not message["more_body"]:
            return bytes(out)


async def test_large_body_spools_to_disk_and_replays():
    data = os.urandom(3 * MEMORY_BYTES + 123)
    body = await read_body(_scope(b"application/octet-stream"), _receive_from(data), 10 * MEMORY_BYTES)
    try:
        assert body.in_memory is None and body.size == len(data)
        assert await _replayed(body) == data
    finally:
        await body.close()


async def test_multipart_digest_ignores_the_boundary():
    digests = set()
    for _ in range(2):
        request = httpx.Request("POST", "http://x/", files={"file": ("b.csv", b"amount,type\n1.00,bank\n", "text/csv")})
        raw = request.read()
        body = await read_body(_scope(request.headers["content-type"].encode()), _receive_from(raw, 7), 1 << 20)
        digests.add(body.content_sha256())
        assert body.in_memory == raw
    assert len(digests) == 1 and None not in digests
    other = httpx.Request("POST", "http://x/", files={"file": ("b.csv", b"amount,type\n2.00,bank\n", "text/csv")})
    body = await read_body(_scope(other.headers["content-type"].encode()), _receive_from(other.read()), 1 << 20)
    assert body.content_sha256() not in digests
