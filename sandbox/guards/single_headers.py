"""The request headers that carry one value, read once: a request that repeats one is
refused (400, in words), by the API (sandbox/observability/observe.py) and by the MCP
server (sandbox/mcp/http.py) alike.

Why refuse rather than pick one: two readers of the same request may pick differently.
The MCP server's fair shares read the last `MCP-Protocol-Version` while the SDK read the
first, so a handshake sent with two was never counted and one client opened 2,000
sessions against a bound of 20. Refused before anything reads the headers, every reader
sees at most one copy, whichever copy it takes.

`Content-Length` and `Transfer-Encoding` are here too, though the HTTP parser (httptools)
already refuses a second `Content-Length` before any application sees the request.

`repeated` is one pass over the raw header list, a set lookup per header: it runs on every
request of the API's hot path."""

from __future__ import annotations

from collections.abc import Iterable

# Lower-case name (as ASGI servers hand them over) -> the name the refusal says. Aliases
# of one header (the idempotency key's two names) share the name said: sending both is
# sending it twice.
SINGLE_VALUED: dict[bytes, str] = {
    b"host": "Host",
    b"content-type": "Content-Type",
    b"content-length": "Content-Length",
    b"transfer-encoding": "Transfer-Encoding",
    b"authorization": "Authorization",
    b"proxy-authorization": "Proxy-Authorization",
    b"x-api-key": "X-API-KEY",
    b"x-sandbox-admin-key": "X-Sandbox-Admin-Key",
    b"x-idempotency-key": "X-Idempotency-Key",
    b"idempotency-key": "X-Idempotency-Key",
    b"x-request-id": "X-Request-ID",
    b"x-sandbox-fault": "X-Sandbox-Fault",
    b"last-event-id": "Last-Event-ID",
    b"origin": "Origin",
    b"mcp-protocol-version": "MCP-Protocol-Version",
    b"mcp-session-id": "Mcp-Session-Id",
    b"mcp-method": "Mcp-Method",
    b"mcp-name": "Mcp-Name",
}


def repeated(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The first single-valued header the request sends more than once (its name as said),
    or None."""
    seen: set[str] = set()
    for name, _ in headers:
        said = SINGLE_VALUED.get(name)
        if said is not None:
            if said in seen:
                return said
            seen.add(said)
    return None


def words(header: str) -> str:
    """The refusal's words, after the header's name: what is wrong and what to do."""
    also = " (or beside Idempotency-Key: they are one header)" if header == "X-Idempotency-Key" else ""
    return (f"is sent more than once{also}; it takes one value, and which copy to read would be a guess: send it "
            "once")
