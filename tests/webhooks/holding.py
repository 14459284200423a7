"""Webhook receivers that hold every request until told to answer: deliveries stay in
flight as long as a test wants (a worker stopped meanwhile has them on the wire). Real
sockets, one port each (one origin each); every request is counted by its webhook-id."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from dataclasses import dataclass, field

from tests.helpers import free_port


@dataclass
class Holding:
    port: int = field(default_factory=free_port)
    holding: bool = True  # False: every request, held or new, is answered 200 at once
    arrived: Counter[str] = field(default_factory=Counter)  # webhook-id -> requests that carried it
    held: set[asyncio.StreamWriter] = field(default_factory=set)
    _answer: asyncio.Event = field(default_factory=asyncio.Event)
    _server: asyncio.Server | None = None

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def start(self) -> Holding:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        return self

    def answer_all(self) -> None:
        self.holding = False
        self._answer.set()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self.held):
                writer.transport.abort()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.held.add(writer)
        try:
            while True:  # keep-alive: one request after another on the connection
                head = await reader.readuntil(b"\r\n\r\n")
                headers = {k.lower(): v for k, v in (
                    line.split(": ", 1) for line in head.decode("latin-1").split("\r\n")[1:] if ": " in line)}
                await reader.readexactly(int(headers.get("content-length", "0")))
                self.arrived[headers.get("webhook-id", "")] += 1
                if self.holding:
                    await self._answer.wait()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:  # the test's loop is ending: so is this connection
            pass
        finally:
            self.held.discard(writer)
            with contextlib.suppress(Exception):
                writer.close()
