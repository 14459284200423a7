"""The greedy client of tests/mcp/test_burst.py: BURST handshakes and BURST session-less
new_merchant calls, AT_ONCE in flight at a time, from this one process; prints each
answer's status (handshakes) or outcome (tool calls), counted, as one JSON line.

    python -m tests.mcp.greedy_client URL BURST AT_ONCE"""

from __future__ import annotations

import asyncio
import json
import sys

import httpx

from tests.mcp.raw import HANDSHAKE, MODERN

ACCEPT = "application/json, text/event-stream"


async def greedy(url: str, burst: int, at_once: int) -> dict[str, int]:
    """Every answer's status (handshakes) or outcome (tool calls), counted."""
    counts: dict[str, int] = {}
    handshake = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": HANDSHAKE, "capabilities": {}, "clientInfo": {"name": "greedy", "version": "1"}}}
    new_merchant = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": "new_merchant", "arguments": {}, "_meta": {"io.modelcontextprotocol/protocolVersion": MODERN,
                                                           "io.modelcontextprotocol/clientCapabilities": {}}}}
    modern = {"Accept": ACCEPT, "MCP-Protocol-Version": MODERN, "Mcp-Method": "tools/call", "Mcp-Name": "new_merchant"}
    gate = asyncio.Semaphore(at_once)
    async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=at_once)) as http:
        async def one(n: int) -> None:
            async with gate:
                if n % 2:
                    answer = await http.post(url, json=handshake, headers={"Accept": ACCEPT})
                    said = f"handshake {answer.status_code}"
                else:
                    answer = await http.post(url, json=new_merchant, headers=modern)
                    text = answer.text
                    if text.startswith("event:") or "data:" in text:
                        text = next(line[5:] for line in text.splitlines() if line.startswith("data:"))
                    result = json.loads(text).get("result", {})
                    said = (f"new_merchant {answer.status_code}" if answer.status_code != 200  # before any tool ran
                            else "new_merchant " + ("refused" if result.get("isError") else "made"))
                counts[said] = counts.get(said, 0) + 1

        await asyncio.gather(*(one(n) for n in range(2 * burst)))
    return counts


if __name__ == "__main__":
    print(json.dumps(asyncio.run(greedy(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))))
