"""`sandbox mcp --http`: the SDK's streamable HTTP app behind the checks a shared server
needs, and served by uvicorn.

- Beyond loopback (`--host` other than 127.0.0.1, ::1 or localhost) a bearer token is
  required (`--token` or SANDBOX_MCP_TOKEN) and every request must carry it
  (`Authorization: Bearer …`, compared in constant time); a token given on loopback is
  required there too. Without it a request is answered 401 before the SDK sees it.
- Host and Origin are checked by the SDK's DNS-rebinding protection, always on: loopback
  names by default, plus each `--allowed-host` and `--allowed-origin`; beyond loopback
  at least one `--allowed-host` is required (the names clients reach the server by).
- A single-valued header (MCP-Protocol-Version, Mcp-Session-Id, Authorization, …) sent
  twice is refused 400 first of all (`capped`): the fair shares and the SDK would read
  different copies.
- Memory before the token is read: the request line and headers at most the API's
  32 KiB (sandbox/runtime/head_limit.py, 431 and the connection closed); a body announced
  over MOST_BODY refused (413) before the token is looked at (`capped`), and one that
  streams past it without the token refused (413) as it is read and dropped, never kept
  (`bearer`). With the token, the body is kept, at most MOST_BODY of it (`guard`).
- A body that is too large or is not one JSON-RPC message is refused in words, as a
  JSON-RPC error the SDK's client hands its caller, echoing nothing (`guard`).
- Who a request comes from (sandbox/mcp/fairness/peers.py), each client's cap on requests in
  flight (sandbox/mcp/fairness/inflight.py), its turns at being served (sandbox/mcp/fairness/turns.py)
  and its share of the sessions (sandbox/mcp/fairness/shares.py): never X-Forwarded-For or another
  header it sends.
- No log line carries a session id or a merchant handle whole (`Redacting`)."""

from __future__ import annotations

import hmac
import json
import logging
import re
from collections.abc import Callable

from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from mcp_types.jsonrpc import JSONRPCRequest, jsonrpc_message_adapter
from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.guards import single_headers
from sandbox.mcp.fairness.inflight import CallsInFlight
from sandbox.mcp.fairness.peers import Peers, loopback
from sandbox.mcp.fairness.shares import SessionShares, refuse
from sandbox.mcp.fairness.turns import REQUEST, Turns

HTTP_PATH = "/mcp"
LOOPBACK_HOSTS = ["127.0.0.1:*", "localhost:*", "[::1]:*"]
LOOPBACK_ORIGINS = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]
# Below the API's 1 MiB on purpose: the API takes file uploads, where a tool call's
# arguments are bounded far below this (their schemas' lengths), and an authorised
# connection keeps its body whole while it is checked (`guard`).
MOST_BODY = 256 * 1024
TOO_LARGE = (f"a request to this MCP server is at most {MOST_BODY // 1024} KiB (a tool's arguments are bounded far "
             "below that: see its input schema)")
TOKEN_MIN = 16


class Refusal(Exception):
    """The server cannot start as asked; the message says why and what to give."""


def security(host: str, token: str | None, allowed_hosts: list[str],
             allowed_origins: list[str]) -> TransportSecuritySettings:
    if token is not None and len(token) < TOKEN_MIN:
        raise Refusal(f"the bearer token must be at least {TOKEN_MIN} characters (e.g. `openssl rand -hex 32`)")
    if not loopback(host):
        if token is None:
            raise Refusal(f"--host {host} listens beyond this machine: give a bearer token (--token, or "
                          "SANDBOX_MCP_TOKEN) that every client must send")
        if not allowed_hosts:
            raise Refusal(f"--host {host} listens beyond this machine: give --allowed-host with each name clients "
                          "reach it by (e.g. --allowed-host mcp.example.internal:8010)")
    hosts = [*LOOPBACK_HOSTS]
    for name in allowed_hosts:
        hosts += [name] if ":" in name.strip("[]").rsplit("]", 1)[-1] else [name, f"{name}:*"]
    return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=hosts,
                                     allowed_origins=[*LOOPBACK_ORIGINS, *allowed_origins])


def capped(app: ASGIApp) -> ASGIApp:
    """The head read once, before the token is looked at and before a byte of the body is
    read: a single-valued header sent twice refused 400 (sandbox/guards/single_headers.py:
    every layer after this one, and the SDK, then read the same copy), and a body announced
    (Content-Length) over MOST_BODY refused 413, in words, whoever asks."""

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            header = single_headers.repeated(scope["headers"])
            if header is not None:
                await refuse(send, 400, f"{header} {single_headers.words(header)}")
                return
            declared = dict(scope["headers"]).get(b"content-length", b"")
            if declared.isdigit() and int(declared) > MOST_BODY:
                await refuse(send, 413, TOO_LARGE)
                return
        await app(scope, receive, send)

    return guarded


async def _streams_past_the_cap(receive: Receive) -> bool:
    """The body read and dropped as it comes (nothing kept): whether it went past MOST_BODY."""
    seen = 0
    while seen <= MOST_BODY:
        message = await receive()
        if message["type"] != "http.request":
            return False  # the client went away
        seen += len(message.get("body", b""))
        if not message.get("more_body", False):
            return seen > MOST_BODY
    return True


def bearer(app: ASGIApp, token: str | None) -> ASGIApp:
    """`app` behind the bearer token (none: `app` itself). Without it, a body that streams
    past MOST_BODY is a 413 (as `capped` answers one announced so), any other a 401."""
    if token is None:
        return app
    expected = f"Bearer {token}".encode()

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            given = dict(scope["headers"]).get(b"authorization", b"")
            if not hmac.compare_digest(given, expected):
                if await _streams_past_the_cap(receive):
                    await refuse(send, 413, TOO_LARGE)
                    return
                body = json.dumps({"error": "unauthorized", "error_description": (
                    "this MCP server needs its bearer token: Authorization: Bearer <token> (ask whoever started "
                    "it)")}).encode()
                await send({"type": "http.response.start", "status": 401, "headers": [
                    (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                    (b"www-authenticate", b'Bearer realm="mypay-sandbox-mcp"')]})
                await send({"type": "http.response.body", "body": body})
                return
        await app(scope, receive, send)

    return guarded


def guard(app: ASGIApp) -> ASGIApp:
    """A POST's body read whole (at most MOST_BODY: one announced larger never gets here,
    `capped`) and checked to be one JSON-RPC message before the SDK sees it: the SDK would
    answer a bare 413 (which its client reports as "Server returned an error response") or
    pydantic's errors with the input echoed."""

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await app(scope, receive, send)
            return
        body = bytearray()
        too_large = False
        while not too_large:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            body += message.get("body", b"")
            too_large = len(body) > MOST_BODY
            if not message.get("more_body", False):
                break
        if too_large:
            await refuse(send, 413, TOO_LARGE)
            return
        try:
            message = jsonrpc_message_adapter.validate_json(bytes(body))
        except ValidationError:
            await refuse(send, 400, "the body is not a JSON-RPC 2.0 message: an object with \"jsonrpc\": \"2.0\" "
                                    "and a \"method\" (with an \"id\" for a request), or a response to one of the "
                                    "server's requests; the MCP SDK's clients send these")
            return
        scope[REQUEST] = isinstance(message, JSONRPCRequest)  # what waits for a turn (turns.py)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await app(scope, replay, send)

    return guarded


class Redacting(logging.Filter):
    """Session ids (32 hex digits) and merchant handles cut to their first characters, in
    any log record, whoever wrote it (the SDK logs session ids at INFO)."""

    SECRETS = re.compile(r"\b(?P<keep>[0-9a-f]{6})[0-9a-f]{26}\b|(?P<handle>mh_[A-Za-z0-9_-]{4})[A-Za-z0-9_-]{28}")

    def filter(self, record: logging.LogRecord) -> bool:
        said = record.getMessage()
        cut = self.SECRETS.sub(lambda m: f"{m['keep'] or m['handle']}…", said)
        if cut != said:
            record.msg, record.args = cut, None
        return True


def redact_logs() -> Callable[[], None]:
    """Every handler there is, and every one made later, redacts; answers the undo."""
    old = logging.getLogRecordFactory()
    redacting = Redacting()

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = old(*args, **kwargs)
        redacting.filter(record)
        return record

    logging.setLogRecordFactory(factory)
    return lambda: logging.setLogRecordFactory(old)


async def serve(app: MCPServer, host: str, port: int, token: str | None, allowed_hosts: list[str],
                allowed_origins: list[str], idle_s: float, most_sessions: int) -> None:
    import uvicorn

    from sandbox.runtime.head_limit import HeadLimitedProtocol
    from sandbox.runtime.serving import KEEP_ALIVE_S

    settings = security(host, token, allowed_hosts, allowed_origins)
    # The SDK's own session bound is a backstop above SessionShares' (which keeps room for newcomers).
    starlette = app.streamable_http_app(streamable_http_path=HTTP_PATH, transport_security=settings, host=host,
                                        max_request_body_size=MOST_BODY, max_sessions=2 * most_sessions,
                                        session_idle_timeout=idle_s)
    peers = Peers()
    sessions = SessionShares(app.session_manager, peers, idle_s=idle_s, most=most_sessions)
    # Outermost first: the head's size (the protocol), a header twice and the announced body's
    # size, the token (a body streamed past the cap without it: 413), the client's cap on
    # requests in flight (before its body is read: a slow one counts), then the body kept and
    # checked, then a turn at being served (after the body: a slow upload holds none), then the
    # shares.
    # proxy_headers off: uvicorn would otherwise take a loopback client's X-Forwarded-For as its
    # address, and a client could name itself anew on every call to escape its bound.
    served = Turns().middleware(sessions.middleware(starlette))
    layers = capped(bearer(CallsInFlight(peers).middleware(guard(served)), token))
    config = uvicorn.Config(layers, host=host, port=port,
                            log_level="warning", server_header=False, lifespan="on", proxy_headers=False,
                            http=HeadLimitedProtocol, ws="none", timeout_keep_alive=KEEP_ALIVE_S)
    await uvicorn.Server(config).serve()
