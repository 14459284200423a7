"""`wire.CoalescingStream`: what httpcore writes leaves in one write when it reads the
answer; a large body is not held; nothing held survives a close; and, with either delivery
client, a connection the receiver closed while it was idle is seen closed before the next
request is sent on it."""

from __future__ import annotations

import asyncio
import socket

from sandbox.settings import get_settings
from sandbox.webhooks.delivery import sender
from sandbox.webhooks.delivery.aiohttp_client import hung_up
from sandbox.webhooks.delivery.wire import HOLD_AT_MOST, CoalescingStream


class Recorded:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.writes.append(buffer)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return b"HTTP/1.1 200 OK\r\n\r\n"

    async def aclose(self) -> None:
        self.closed = True

    def get_extra_info(self, info: str) -> None:
        return None


async def test_head_and_body_leave_in_one_write_when_the_answer_is_read():
    inner = Recorded()
    stream = CoalescingStream(inner)  # type: ignore[arg-type]
    await stream.write(b"POST /hooks HTTP/1.1\r\ncontent-length: 2\r\n\r\n")
    await stream.write(b"{}")
    assert inner.writes == []
    assert await stream.read(65536) == b"HTTP/1.1 200 OK\r\n\r\n"
    assert inner.writes == [b"POST /hooks HTTP/1.1\r\ncontent-length: 2\r\n\r\n{}"]
    await stream.read(65536)  # nothing more held: nothing more written
    assert len(inner.writes) == 1


async def test_a_large_body_is_written_as_it_comes_and_a_close_drops_nothing_sent():
    inner = Recorded()
    stream = CoalescingStream(inner)  # type: ignore[arg-type]
    await stream.write(b"x" * (HOLD_AT_MOST + 1))
    assert [len(w) for w in inner.writes] == [HOLD_AT_MOST + 1]
    await stream.write(b"tail")
    await stream.aclose()
    assert inner.closed and len(inner.writes) == 1


async def test_a_connection_the_receiver_closed_while_idle_is_not_reused(each_client):
    """A receiver that closes a kept-alive connection without saying so (an idle timeout):
    each client asks the idle connection whether it is still open before it writes to it
    (httpcore's pool polls the stream's kept socket; aiohttp's request polls its own, as
    its pool knows only once the loop has read the close, which Python 3.13's loop had not
    here). Reused, the next webhook would be written to a closed connection and its
    attempt fail."""
    accepted = 0
    closed = asyncio.Event()

    async def answer_then_hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal accepted
        try:
            await reader.readuntil(b"\r\n\r\n")
            await reader.readexactly(2)
        except asyncio.IncompleteReadError:  # a connect the client gave up on (a loaded machine): no request
            writer.close()
            return
        accepted += 1  # connections that carried a request
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")  # keep-alive, as HTTP/1.1 is
        await writer.drain()
        writer.close()
        await writer.wait_closed()
        closed.set()

    server = await asyncio.start_server(answer_then_hang_up, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/hooks"
    client = sender.build(get_settings())
    try:
        for _ in range(2):
            closed.clear()
            record = await sender.post_once(client, url, b"{}", {"content-type": "application/json"}, 0)
            assert (record.status_code, record.error) == (200, None)
            await asyncio.wait_for(closed.wait(), 5)  # the receiver has hung up on the idle connection
        assert accepted == 2  # the second request went on a new connection
    finally:
        await client.aclose()
        server.close()
        await server.wait_closed()


def test_a_socket_is_hung_up_when_its_peer_has_closed_or_spoken_unasked():
    ours, theirs = socket.socketpair()
    with ours, theirs:
        assert not hung_up(ours)  # idle and open: fit to be written to
        theirs.sendall(b"x")
        assert hung_up(ours)  # bytes nobody asked for
        ours.recv(1)
        theirs.close()
        assert hung_up(ours)  # the peer's close
    assert hung_up(ours)  # closed here (fileno -1)
    assert hung_up(None)
