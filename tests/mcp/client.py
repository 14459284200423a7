"""The SDK's own client, as an agent host drives the server: `sandbox mcp` started over
stdio (a subprocess, as Claude Code or Cursor launch it) or reached over streamable HTTP.
`call` reads a tool's structured answer and fails the test on an MCP error; `refused`
expects one and answers its words."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

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
async def over_http(url: str) -> AsyncIterator[ClientSession]:
    async with streamable_http_client(url) as (read, write, *_), ClientSession(read, write) as session:
        await session.initialize()
        yield session


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
    if transcript is not None:
        transcript.add(name, arguments, text)
    return result.structured_content


async def refused(session: ClientSession, name: str, /, **arguments: Any) -> str:
    result = await session.call_tool(name, arguments)
    text = "".join(getattr(block, "text", "") for block in result.content)
    assert result.is_error, f"{name} {arguments} was not refused: {text}"
    assert "Traceback" not in text and text.strip(), text
    return text
