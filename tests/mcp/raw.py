"""Raw HTTP requests to `sandbox mcp --http`, as curl would send them: the session-less
(2026-07-28) protocol, or the handshake's, with whatever headers a test forges."""

from __future__ import annotations

import json
from typing import Any

import httpx

MODERN = "2026-07-28"
HANDSHAKE = "2025-11-25"


async def sessionless_call(url: str, tool: str, arguments: dict[str, Any] | None = None,
                           headers: dict[str, str] | None = None) -> httpx.Response:
    """One `tools/call` with no session, as the SDK's default client sends it."""
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": tool, "arguments": arguments or {},
        "_meta": {"io.modelcontextprotocol/protocolVersion": MODERN,
                  "io.modelcontextprotocol/clientCapabilities": {}}}}
    sent = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json",
            "MCP-Protocol-Version": MODERN, "Mcp-Method": "tools/call", "Mcp-Name": tool, **(headers or {})}
    async with httpx.AsyncClient(timeout=60) as http:
        return await http.post(url, content=json.dumps(body), headers=sent)


async def handshake(url: str, headers: dict[str, str] | None = None) -> httpx.Response:
    """An `initialize` request: the answer carries the new session's id, if one was made."""
    body = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": HANDSHAKE, "capabilities": {}, "clientInfo": {"name": "curl", "version": "1"}}}
    sent = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json", **(headers or {})}
    async with httpx.AsyncClient(timeout=60) as http:
        return await http.post(url, content=json.dumps(body), headers=sent)


def result_of(response: httpx.Response) -> dict[str, Any]:
    """The JSON-RPC result of a JSON or one-event SSE answer."""
    text = response.text
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        text = next(line[5:] for line in text.splitlines() if line.startswith("data:"))
    return json.loads(text)["result"]


def words(response: httpx.Response) -> str:
    """A tool result's text."""
    return "".join(block.get("text", "") for block in result_of(response)["content"])
