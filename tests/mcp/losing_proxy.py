"""A reverse proxy between `sandbox mcp` and the API that loses answers on demand: it
forwards every request, and for the next request matching a rule it lets the API answer,
keeps the answer (`lost`), and closes the connection instead of passing it on. What an
agent sees when a network drops an answer after the sandbox did the work."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import httpx
from aiohttp import web

from tests.helpers import free_port

HOP = {"host", "content-length", "transfer-encoding", "connection", "keep-alive", "content-encoding"}


@dataclass
class LosingProxy:
    upstream: str
    rules: list[tuple[str, re.Pattern[str]]] = field(default_factory=list)
    lost: list[dict] = field(default_factory=list)  # method, path, status, body (JSON) of each answer lost

    def lose_next(self, method: str, path: str) -> None:
        """Lose the answer of the next `method` request whose path matches `path` (a regex)."""
        self.rules.append((method, re.compile(path)))

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        return f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        await self._runner.cleanup()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP}
        async with httpx.AsyncClient(timeout=60) as http:
            answer = await http.request(request.method, self.upstream + request.path_qs, headers=headers,
                                        content=await request.read())
        rule = next((r for r in self.rules if r[0] == request.method and r[1].fullmatch(request.path)), None)
        if rule is not None:
            self.rules.remove(rule)
            self.lost.append({"method": request.method, "path": request.path, "status": answer.status_code,
                              "body": json.loads(answer.content or b"null")})
            assert request.transport is not None
            request.transport.abort()  # the answer never reaches the MCP server
            raise web.HTTPServiceUnavailable  # (nothing is written: the connection is gone)
        kept = {k: v for k, v in answer.headers.items() if k.lower() not in HOP}
        return web.Response(status=answer.status_code, body=answer.content, headers=kept)
