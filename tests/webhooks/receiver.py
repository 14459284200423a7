"""A real webhook receiver: an HTTP server (uvicorn, in the test's event loop) that
records every request and answers what the test tells it to."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from tests.helpers import free_port, serve


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    arrived: float  # time.time() when the body was read

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]


Reply = tuple[int, dict[str, str], bytes]
Responder = Callable[[Received], Reply | Awaitable[Reply]]  # may wait (a slow receiver)


def ok(_: Received) -> Reply:
    return 200, {}, b"ok"


@dataclass
class Receiver:
    port: int = field(default_factory=free_port)
    responder: Responder = ok
    received: list[Received] = field(default_factory=list)
    _server: object = None
    _task: asyncio.Task | None = None

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def app(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = bytearray()
        while True:
            message = await receive()
            body.extend(message.get("body", b""))
            if not message.get("more_body"):
                break
        got = Received(path=scope["path"], headers={k.decode(): v.decode() for k, v in scope["headers"]},
                       body=bytes(body), arrived=time.time())
        self.received.append(got)
        answer = self.responder(got)
        status, headers, reply = await answer if inspect.isawaitable(answer) else answer
        await send({"type": "http.response.start", "status": status,
                    "headers": [(k.encode(), v.encode()) for k, v in headers.items()]})
        await send({"type": "http.response.body", "body": reply})

    async def start(self) -> Receiver:
        async def asgi(scope, receive, send) -> None:  # uvicorn wants a plain ASGI 3 callable
            await self.app(scope, receive, send)

        self._server, self._task = await serve(asgi, self.port)
        return self

    async def stop(self) -> None:
        if self._task is not None:
            self._server.should_exit = True
            await self._task
            self._task = None

    def ids(self) -> list[str]:
        return [r.webhook_id for r in self.received]

    def types(self) -> list[str]:
        import json

        return [json.loads(r.body)["type"] for r in self.received]
