"""The SDK's own client, as an agent host drives the server: `sandbox mcp` started over
stdio (a subprocess, as Claude Code or Cursor launch it) or reached over streamable HTTP.
`call` reads a tool's structured answer and fails the test on an MCP error; `refused`
expects one and answers its words."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from sandbox.mcp.bounds import MAX_BYTES, MAX_ERROR
from tests.helpers import free_port, wait_for

SANDBOX = str(Path(sys.executable).with_name("sandbox"))  # the console script the package installs


@asynccontextmanager
async def over_stdio(*args: str, command: str = SANDBOX, env: dict[str, str] | None = None
                     ) -> AsyncIterator[ClientSession]:
    server = StdioServerParameters(command=command, args=list(args), env=env)
    with open(os.devnull, "w") as quiet:  # noqa: ASYNC230  (the server's own log, on its stderr; opens at once)
        async with stdio_client(server, errlog=quiet) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            yield session


@asynccontextmanager
async def over_http(url: str, token: str | None = None) -> AsyncIterator[ClientSession]:
    """A client with a session: the initialize handshake (protocol 2025-11-25 and before)."""
    async with _http(token) as http, streamable_http_client(url, http_client=http) as (read, write, *_), \
            ClientSession(read, write) as session:
        await session.initialize()
        yield session


@asynccontextmanager
async def sessionless(url: str, token: str | None = None) -> AsyncIterator[ClientSession]:
    """The SDK's default client: `server/discover`, then each call a request of its own
    (protocol 2026-07-28, no session id)."""
    async with _http(token) as http, streamable_http_client(url, http_client=http) as (read, write, *_), \
            ClientSession(read, write) as session:
        await session.discover()
        yield session


def _http(token: str | None) -> httpx2.AsyncClient:
    return create_mcp_http_client(headers={"Authorization": f"Bearer {token}"} if token else None)


class Transcript:
    """What a session asked and got, for the guide's example (MCP_TRANSCRIPT=FILE writes it)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, name: str, arguments: dict, answer: str) -> None:
        self.lines.append(f"> {name} {json.dumps(arguments)}\n{answer}\n")

    def save(self) -> None:
        if os.environ.get("MCP_TRANSCRIPT"):
            Path(os.environ["MCP_TRANSCRIPT"]).write_text("\n".join(self.lines))


async def call(session: ClientSession, name: str, transcript: Transcript | None = None, /, **arguments: Any) -> dict:
    result = await session.call_tool(name, arguments)
    text = "".join(getattr(block, "text", "") for block in result.content)
    assert not result.is_error, f"{name} answered an MCP error: {text}"
    assert isinstance(result.structured_content, dict), f"{name} answered no structured content: {text}"
    assert json.loads(text) == result.structured_content  # the text an agent reads says the same
    received = len(text.encode()) + len(json.dumps(result.structured_content, separators=(",", ":"),
                                                   ensure_ascii=False).encode())
    assert received <= MAX_BYTES, f"{name} answered {received} bytes of text and structured content"
    if transcript is not None:
        transcript.add(name, arguments, text)
    return result.structured_content


async def refused(session: ClientSession, name: str, /, **arguments: Any) -> str:
    result = await session.call_tool(name, arguments)
    text = "".join(getattr(block, "text", "") for block in result.content)
    assert result.is_error, f"{name} {arguments} was not refused: {text}"
    assert "Traceback" not in text and "pydantic" not in text and text.strip(), text
    assert len(text) <= MAX_ERROR + 100, f"{name} answered an error of {len(text)} characters"
    return text


@asynccontextmanager
async def http_server(stack, *extra: str, log: Path | None = None, host: str = "127.0.0.1",
                      pid: list[int] | None = None, url: str | None = None) -> AsyncIterator[str]:
    """`sandbox mcp --http` on a free port with the admin key (and `extra` options), its
    stderr written to `log`, its pid appended to `pid`, talking to the API at `url` (by
    default the stack's); answers its URL once it listens."""
    port = free_port()
    with open(log or os.devnull, "w") as err:  # noqa: ASYNC230  (opens at once)
        server = await asyncio.create_subprocess_exec(
            SANDBOX, "mcp", "--http", "--host", host, "--port", str(port), "--url", url or stack.base_url,
            "--admin-key", stack.admin_key, *extra, stdout=asyncio.subprocess.DEVNULL, stderr=err)
        if pid is not None:
            pid.append(server.pid)

        async def listening() -> bool:
            assert server.returncode is None, f"sandbox mcp --http exited with {server.returncode}"
            with socket.socket() as s:
                return s.connect_ex(("127.0.0.1", port)) == 0

        try:
            await wait_for(listening, timeout=30, what="sandbox mcp --http to listen")
            yield f"http://127.0.0.1:{port}/mcp"
        finally:
            server.terminate()
            await server.wait()


async def second_client(url: str, payouts: int = 1, every: float = 0.25, session: bool = False,
                        key: str | None = None, timeout: float = 120) -> dict:
    """What another client process got (tests/mcp/second_client.py): on loopback a client
    is its process, so a second client needs one."""
    done = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.mcp.second_client", url, str(payouts), str(every),
        *(["session"] if session else []), *([f"key={key}"] if key else []),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    out, _ = await asyncio.wait_for(done.communicate(), timeout)
    assert done.returncode == 0, f"the second client exited with {done.returncode}"
    return json.loads(out.decode().strip().splitlines()[-1])


def rss_kib(pid: int) -> tuple[int, int]:
    """A process's resident memory now and at its peak (VmRSS, VmHWM), in KiB."""
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return int(status["VmRSS"].split()[0]), int(status["VmHWM"].split()[0])
