"""A slow webhook receiver on a real socket: it reads the request, answers `200` with
`Content-Length: 5000`, then sends one byte every `every_s` seconds. It records every
connection (the webhook-id it carried, when it opened and closed) so a test can see how
long a worker held it and whether two were open for one delivery at once."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from tests.helpers import free_port


@dataclass
class Held:
    webhook_id: str
    opened: float
    closed: float | None = None


@dataclass
class Trickle:
    every_s: float = 0.2
    port: int = field(default_factory=free_port)
    held: list[Held] = field(default_factory=list)
    _server: asyncio.Server | None = None
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def start(self) -> Trickle:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.transport.abort()
            await self._server.wait_closed()

    def open_now(self) -> list[Held]:
        return [h for h in self.held if h.closed is None]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held = None
        self._writers.add(writer)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            headers = dict(line.split(": ", 1) for line in head.decode("latin-1").split("\r\n")[1:] if ": " in line)
            headers = {k.lower(): v for k, v in headers.items()}
            await reader.readexactly(int(headers.get("content-length", "0")))
            held = Held(headers.get("webhook-id", ""), time.monotonic())
            self.held.append(held)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5000\r\n\r\n")
            await writer.drain()
            gone = asyncio.ensure_future(reader.read())  # b"" the moment the client closes
            try:
                for _ in range(5000):
                    done, _ = await asyncio.wait([gone], timeout=self.every_s)
                    if done:
                        break
                    writer.write(b"x")
                    await writer.drain()
            finally:
                gone.cancel()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            if held is not None:
                held.closed = time.monotonic()
            self._writers.discard(writer)
            writer.close()
