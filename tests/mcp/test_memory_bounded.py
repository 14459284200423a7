"""`sandbox mcp --http` bounds what a client costs before its token is read: the request
line and headers at most the API's 32 KiB (431, the connection closed), the body not read
at all before the token (401). 100 connections, each sending a 4 MB header or announcing a
100 MB body with no token, grow the server's resident memory by less than RSS_BOUND_KIB."""

from __future__ import annotations

import asyncio

import pytest

from sandbox.runtime.head_limit import HEAD_MAX_BYTES
from tests.mcp.client import http_server, rss_kib

pytestmark = pytest.mark.process

TOKEN = "t0ken-for-the-tests-0123456789"
RSS_BOUND_KIB = 32 * 1024  # the stated bound: +32 MB for 100 such connections
CONNECTIONS = 100
HEADER_BYTES = 4 * 1024 * 1024


async def _huge_header(port: int) -> bytes:
    """What the server answered a 4 MB header (read while sending: it closes at 32 KiB, and
    bytes still arriving then make the kernel reset the connection, which may lose the
    answer: b"" then)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    answer = asyncio.ensure_future(reader.read(4096))
    try:
        writer.write(f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Pad: ".encode())
        chunk = b"p" * 65536
        for _ in range(HEADER_BYTES // len(chunk)):
            if answer.done():
                break
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    try:
        return await asyncio.wait_for(answer, 60)
    except (ConnectionError, OSError):
        return b""
    finally:
        writer.close()


async def _huge_body(port: int) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {100 * 1024 * 1024}\r\n\r\n".encode() + b"[" * 65536)
        await writer.drain()
        return await asyncio.wait_for(reader.read(4096), 60)
    finally:
        writer.close()


async def test_a_hundred_connections_with_huge_heads_or_bodies_and_no_token_cost_a_bounded_memory(stack):
    pid: list[int] = []
    async with http_server(stack, "--token", TOKEN, pid=pid) as url:
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        before, _ = rss_kib(pid[0])
        heads = await asyncio.gather(*(_huge_header(port) for _ in range(CONNECTIONS // 2)))
        bodies = await asyncio.gather(*(_huge_body(port) for _ in range(CONNECTIONS // 2)))
        _, peak = rss_kib(pid[0])
        print(f"sandbox mcp --http RSS: {before} KiB before, {peak} KiB at its peak, +{peak - before} KiB for "
              f"{CONNECTIONS} connections ({CONNECTIONS // 2} x {HEADER_BYTES >> 20} MiB headers, "
              f"{CONNECTIONS // 2} x 100 MiB bodies announced), no token")
        answered = [h for h in heads if h]
        # Each one answered 431 or reset once the server closed it at the cap (the kernel drops an
        # unread answer then): never read whole, never passed on to the token check.
        assert answered and all(h.startswith(b"HTTP/1.1 431") for h in answered), {h[:40] for h in heads}
        assert str(HEAD_MAX_BYTES).encode() in answered[0]
        assert all(b.startswith(b"HTTP/1.1 401") for b in bodies), {b[:40] for b in bodies}
        assert peak - before < RSS_BOUND_KIB
