"""Every header that carries one value, sent twice, is refused 400 in words by the MCP
server and by the API alike (sandbox/guards/single_headers.py), and nothing is done: the
fair shares once read the last `MCP-Protocol-Version` while the SDK read the first, so a
handshake sent with two was never counted (40 sessions opened against a bound of 20).

Sent raw, as bytes on a socket: an HTTP client library merges or drops a repeated header."""

from __future__ import annotations

import asyncio
import json

import pytest

from sandbox.guards.single_headers import SINGLE_VALUED
from tests.helpers import new_merchant, payout_body
from tests.mcp.client import http_server

pytestmark = pytest.mark.process

# A value each header may carry; the request is otherwise one the server answers.
VALUES = {"host": None, "content-type": "application/json", "content-length": None,
          "transfer-encoding": "chunked", "authorization": "Bearer t0ken-for-the-tests-0123456789",
          "proxy-authorization": "Basic eDp5", "x-api-key": None, "x-sandbox-admin-key": "sk_admin_x",
          "x-idempotency-key": "k1", "idempotency-key": "k1", "x-request-id": "req_twice",
          "x-sandbox-fault": "none", "last-event-id": "1", "origin": "http://127.0.0.1",
          "mcp-protocol-version": "2025-11-25", "mcp-session-id": "f" * 32, "mcp-method": "initialize",
          "mcp-name": "initialize"}
HANDSHAKE = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}}).encode()
# Refused by the HTTP parser (httptools) before any application sees the request: a 400 with
# its own plain words.
BY_THE_PARSER = {"content-length", "transfer-encoding"}


async def _raw(port: int, path: str, headers: list[tuple[str, str]], body: bytes) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        head = f"POST {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
        writer.write(head.encode() + body)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 30)  # every answer here closes or says connection: close
    finally:
        writer.close()
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


def _twice(name: str, port: int, base: list[tuple[str, str]], body: bytes) -> list[tuple[str, str]]:
    """`base` with `name` sent twice (two different values where it can carry them)."""
    value = VALUES[name] or {"host": f"127.0.0.1:{port}", "content-length": str(len(body))}.get(name, "sk_test_x")
    kept = [(k, v) for k, v in base if k.lower() != name]
    second = value if name in ("content-length", "host") else value + "0"
    if name == "transfer-encoding":
        second = value
    return [*kept, (name, value), (name, second)]


async def test_a_single_valued_header_sent_twice_is_refused_by_the_api_in_words_and_nothing_is_done(stack):
    port = int(stack.base_url.rsplit(":", 1)[1])
    api, _ = await new_merchant(stack)
    body = json.dumps(payout_body()).encode()
    base = [("host", f"127.0.0.1:{port}"), ("content-type", "application/json"), ("content-length", str(len(body))),
            ("x-api-key", api.key), ("x-idempotency-key", "twice-1"), ("connection", "close")]
    try:
        for name in sorted(n.decode() for n in SINGLE_VALUED):
            status, said = await _raw(port, "/api/v1/payouts", _twice(name, port, base, body), body)
            assert status == 400, (name, status, said[:300])
            if name not in BY_THE_PARSER:
                problem = json.loads(said)
                assert problem["code"] == "validation_error", problem
                assert f"{SINGLE_VALUED[name.encode()]}: is sent more than once" in problem["detail"], problem
                assert "send it once" in problem["detail"]
        assert (await api.get("/payouts")).json()["data"] == []  # no payout made
        status, _ = await _raw(port, "/api/v1/payouts", base, body)  # each header once: made
        assert status == 201
    finally:
        await api.http.aclose()


async def test_a_single_valued_header_sent_twice_is_refused_by_the_mcp_server_in_its_words(stack):
    async with http_server(stack) as url:
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        base = [("host", f"127.0.0.1:{port}"), ("content-type", "application/json"),
                ("content-length", str(len(HANDSHAKE))), ("accept", "application/json, text/event-stream"),
                ("connection", "close")]
        for name in sorted(n.decode() for n in SINGLE_VALUED):
            status, said = await _raw(port, "/mcp", _twice(name, port, base, HANDSHAKE), HANDSHAKE)
            assert status == 400, (name, status, said[:300])
            if name not in BY_THE_PARSER:
                error = json.loads(said)["error"]["message"]
                assert f"{SINGLE_VALUED[name.encode()]} is sent more than once" in error, error
                assert "send it once" in error, error


async def test_the_handshake_with_two_protocol_versions_opens_no_session(stack):
    """The issue's case: 2025-11-25 then 2026-07-28 opened a session the shares never counted."""
    async with http_server(stack) as url:
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        headers = [("host", f"127.0.0.1:{port}"), ("content-type", "application/json"),
                   ("content-length", str(len(HANDSHAKE))), ("accept", "application/json, text/event-stream"),
                   ("mcp-protocol-version", "2025-11-25"), ("mcp-protocol-version", "2026-07-28"),
                   ("connection", "close")]
        opened = 0
        for _ in range(25):
            status, _ = await _raw(port, "/mcp", headers, HANDSHAKE)
            opened += status == 200
        assert opened == 0
