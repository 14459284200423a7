"""`wire.CoalescingStream`: what httpcore writes leaves in one write when it reads the
answer; a large body is not held; nothing held survives a close."""

from __future__ import annotations

from sandbox.webhooks.wire import HOLD_AT_MOST, CoalescingStream


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
