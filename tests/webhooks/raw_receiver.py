"""A webhook receiver on a raw socket, for what an HTTP framework hides: how many
connections the sender opened, how many it had open at once, the exact bytes of each
request, and how much of a long answer the sender let it write before hanging up."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


@dataclass
class Got:
    path: str
    headers: dict[str, str]
    body: bytes


# What to answer a request: bytes written whole, or an endless body (`HUGE`).
Answer = Callable[[Got], bytes]
HUGE = b""


@dataclass
class RawReceiver:
    answer: Answer = lambda _: OK
    got: list[Got] = field(default_factory=list)
    connections: int = 0
    open_now: int = 0
    most_open: int = 0
    written: int = 0  # bytes of endless bodies written before the sender hung up
    hold_s: float = 0.0  # how long each answer waits (so requests overlap)
    _server: asyncio.Server | None = None
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)

    async def start(self) -> RawReceiver:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.sockets[0].getsockname()[1]

    def url(self, path: str = "/hook", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    async def stop(self) -> None:
        """Stop listening and hang up on every connection still open: a sender's pool may
        keep one alive past the test (its client is closed after this receiver), and
        `wait_closed` waits for every connection to end (Python >= 3.12.1; before, it
        returned at once), so without the hang-up it would wait for the client forever."""
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.transport.abort()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        self.connections += 1
        self.open_now += 1
        self.most_open = max(self.most_open, self.open_now)
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
                headers = {k.lower(): v for k, _, v in (line.partition(": ") for line in head[1:] if line)}
                got = Got(head[0].split(" ")[1], headers, await reader.readexactly(int(headers["content-length"])))
                self.got.append(got)
                if self.hold_s:
                    await asyncio.sleep(self.hold_s)  # the receiver's own pace, not a test waiting
                answer = self.answer(got)
                if answer is HUGE:
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n")
                    while True:
                        writer.write(b"y" * 65536)
                        await writer.drain()
                        self.written += 65536
                writer.write(answer)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.open_now -= 1
            self._writers.discard(writer)
            writer.close()
