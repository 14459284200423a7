"""Each HTTP client's cap on requests in flight: fair in time, as sandbox/mcp/fairness/shares.py is
fair in count.

One event loop serves every client. Without a cap, a client sending calls 50 at a time
(or trickling 50 slow bodies, or 50 huge ones) had the loop, the API's connections and the
server's memory working for it while a polite client's handshake, discovery and calls
waited their turn behind that excess (its tool call p99 rose 9 to 51 times, issue 92).

Here a client (sandbox/mcp/fairness/peers.py: the process on loopback, the token's holder beyond)
has at most CALLS_IN_FLIGHT POSTs being read or answered at once; the next is refused at
once (429, `Retry-After`, in words saying what to do), before a byte of its body is read.
Refused, not queued: a queue per client would hold the excess in memory and let it grow,
and the refusal tells the client to slow down. What remains shared is at most
CALLS_IN_FLIGHT requests of each client, served in turns (sandbox/mcp/fairness/turns.py:
a client's first request at once, its others in rotation with other clients'), so no
client waits behind another's excess.

This layer runs before the body is read (sandbox/mcp/http.py), so a slow or huge body
counts against its sender while it arrives. A GET (a session's stream of server messages,
one per session, whose sessions shares.py bounds) and a DELETE (ending a session) are
not counted: they cost no tool call, and refusing a DELETE would keep a session open."""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.mcp.connection import IDENTITY
from sandbox.mcp.fairness.peers import Peers
from sandbox.mcp.fairness.shares import refuse

CALLS_IN_FLIGHT = 8  # a client's POSTs being read or answered at once
RETRY_AFTER_S = 1


class CallsInFlight:
    def __init__(self, peers: Peers, per_client: int = CALLS_IN_FLIGHT) -> None:
        self._peers, self.per_client = peers, per_client
        self._in_flight: dict[str, int] = {}  # who -> its POSTs in flight (none: not kept)

    def in_flight(self, who: str) -> int:
        return self._in_flight.get(who, 0)

    def middleware(self, app: ASGIApp) -> ASGIApp:
        async def capped(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            who = scope[IDENTITY] = await self._peers.who(scope)
            if scope["method"] != "POST":
                await app(scope, receive, send)
                return
            mine = self._in_flight.get(who, 0)
            if mine >= self.per_client:
                await refuse(send, 429, (
                    f"you have {mine} requests in flight to this MCP server, the most one client may at once: wait "
                    f"for an answer before sending the next (try again after {RETRY_AFTER_S} s, as Retry-After "
                    "says). Requests past the cap are refused rather than queued, so that no client waits behind "
                    "another's"), retry_after=RETRY_AFTER_S)
                return
            self._in_flight[who] = mine + 1

            def release() -> None:
                left = self._in_flight[who] - 1
                if left:
                    self._in_flight[who] = left
                else:
                    del self._in_flight[who]  # nothing kept per client once it is done

            await released_when_answered(app, scope, receive, send, release)

        return capped


async def released_when_answered(app: ASGIApp, scope: Scope, receive: Receive, send: Send,
                                 release: Callable[[], None]) -> None:
    """`app` run, and `release` called once: as the answer's last part is sent, or when `app`
    ends without it."""
    done = False

    def once() -> None:
        nonlocal done
        if not done:
            done = True
            release()

    async def answered(message: Message) -> None:
        # Released before the answer's last bytes leave: a client that waits for its answer
        # before sending the next request must find its place free (the app's own end
        # comes after, and the next request would have been refused meanwhile).
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            once()
        await send(message)

    try:
        await app(scope, receive, answered)
    finally:
        once()
