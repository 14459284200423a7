"""Each HTTP client's fair share of the server's handshake sessions, and who sent each
request (sandbox/mcp/fairness/peers.py), for the tools' bounds on merchants too.

The SDK bounds sessions in all (`max_sessions`) and, once full, refuses everyone until an
idle session ends: one client opening sessions in a loop locked every other out. Here, in
front of the SDK's session manager:

- a client (the token's holder beyond loopback, the process on loopback) holds at most
  `per_client` sessions at once; its next handshake is refused in words (429) saying how
  many it holds and how to end one;
- when the server holds `most` sessions, a newcomer still gets one: the least recently
  used session of the client holding the most is ended, if that is more than its share
  (`most` split among the clients holding any); else the newcomer is refused (503), in
  words too;
- a session idle for `idle_s` ends (the SDK's idle timeout, `--idle`).

A handshake let in holds its place from that moment: the SDK registers its session only
after awaits of its own, and handshakes checked in between would all have seen the room
one of them takes (a burst of 10 at a time got a client 21 sessions). The place is given
back if the SDK does not register a session for it.

Refusals are JSON-RPC errors in a JSON body, which the SDK's client hands its caller
with their words (a bare status would reach the agent as "Server returned an error
response")."""

from __future__ import annotations

import json
import time
from contextvars import ContextVar
from typing import Any

import anyio
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from starlette.types import ASGIApp, Receive, Scope, Send

from sandbox.mcp.connection import IDENTITY
from sandbox.mcp.defaults import MOST_SESSIONS
from sandbox.mcp.fairness.peers import Peers
from sandbox.mcp.fairness.trim import Trimmer

SESSIONS_PER_CLIENT = 20
RETRY_AFTER_S = 5  # a refused handshake's Retry-After: a session is ended (DELETE) in less, or idles out later


class Opening:
    """A handshake let in: who sent it, and whether it still holds a place of its own
    (`pending`) until the SDK registers its session or it ends without one."""

    __slots__ = ("pending", "who")

    def __init__(self, who: str, pending: bool) -> None:
        self.who, self.pending = who, pending


_OPENING: ContextVar[Opening | None] = ContextVar("mcp_opening", default=None)  # the handshake being admitted


async def refuse(send: Send, status: int, words: str, retry_after: int | None = None) -> None:
    """A JSON-RPC error the SDK's client reads, with `words` as its message; a 429 or a 503
    says when to try again (`Retry-After`, in seconds)."""
    body = json.dumps({"jsonrpc": "2.0", "id": None, "error": {"code": -32000, "message": words}}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class SessionShares:
    def __init__(self, manager: StreamableHTTPSessionManager, peers: Peers, *, idle_s: float,
                 most: int = MOST_SESSIONS, per_client: int = SESSIONS_PER_CLIENT, clock=time.monotonic) -> None:
        self._manager, self._peers, self._clock = manager, peers, clock
        self.idle_s, self.most, self.per_client = idle_s, most, per_client
        self._owner: dict[str, str] = {}  # session id -> who holds it
        self._used: dict[str, float] = {}  # session id -> its last request
        self._pending: dict[str, int] = {}  # who -> handshakes let in whose session the SDK has not registered yet
        self._lock = anyio.Lock()
        self._trimmer = Trimmer()
        # The SDK's manager registers and discards sessions in these two (2.3 has no hooks):
        # wrapped, every session the SDK keeps is counted against its opener, and only those.
        admit, discard = manager._admit_session, manager._discard_session

        def admitted(requestor: Any) -> Any:
            transport = admit(requestor)
            opening = _OPENING.get()
            if opening is None:
                return transport
            if opening.pending:  # its place becomes the session itself (or is given back): in one step, no await
                opening.pending = False
                self._give_back(opening.who)
            if transport is not None and transport.mcp_session_id is not None:
                self._owner[transport.mcp_session_id] = opening.who
                self._used[transport.mcp_session_id] = self._clock()
            return transport

        async def discarded(session_id: str, transport: Any) -> None:
            self._owner.pop(session_id, None)
            self._used.pop(session_id, None)
            await discard(session_id, transport)
            self._trimmer.soon()  # what the session held given back to the kernel (trim.py)

        manager._admit_session = admitted  # type: ignore[method-assign]
        manager._discard_session = discarded  # type: ignore[method-assign]

    def held_by(self, who: str) -> list[str]:
        return [sid for sid, owner in self._owner.items() if owner == who]

    def _held(self, who: str) -> int:
        """Sessions `who` holds, counting the handshakes let in whose session is on its way."""
        return len(self.held_by(who)) + self._pending.get(who, 0)

    def _give_back(self, who: str) -> None:
        left = self._pending.get(who, 0) - 1
        if left > 0:
            self._pending[who] = left
        else:
            self._pending.pop(who, None)

    def middleware(self, app: ASGIApp) -> ASGIApp:
        async def shared(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            who = scope.get(IDENTITY) or await self._peers.who(scope)  # named already by the cap in flight
            scope[IDENTITY] = who
            headers = dict(scope["headers"])
            session = headers.get(b"mcp-session-id")
            if session is not None:
                sid = session.decode("latin-1")
                if sid in self._used:
                    self._used[sid] = self._clock()
                await app(scope, receive, send)
                return
            version = headers.get(b"mcp-protocol-version")
            opens = scope["method"] == "POST" and (version is None or version.decode("latin-1")
                                                   in HANDSHAKE_PROTOCOL_VERSIONS)
            if not opens:
                await app(scope, receive, send)
                return
            opening = Opening(who, pending=False)
            token = _OPENING.set(opening)
            try:
                async with self._lock:
                    said = await self._admit(who)
                    opening.pending = said is None  # the place `_admit` took: no await in between
                if said is not None:
                    await refuse(send, *said, retry_after=RETRY_AFTER_S)
                    return
                await app(scope, receive, send)
            finally:
                _OPENING.reset(token)
                if opening.pending:  # refused or failed before the SDK registered a session
                    opening.pending = False
                    self._give_back(who)

        return shared

    async def _admit(self, who: str) -> tuple[int, str] | None:
        """None: `who` may open a session (room made if need be), and holds a place for it
        (given back through its Opening); else the refusal."""
        said = await self._room_for(who)
        if said is None:
            self._pending[who] = self._pending.get(who, 0) + 1
        return said

    async def _room_for(self, who: str) -> tuple[int, str] | None:
        mine = self._held(who)
        how = (f"end one you are done with (DELETE /mcp with its Mcp-Session-Id; the SDK's client does it when it "
               f"closes), or leave it idle: a session ends after {self.idle_s / 60:g} minutes unused")
        if mine >= self.per_client:
            return 429, (f"you hold {mine} open sessions of this MCP server, the most one client may: {how}; "
                         "or call without a session (the SDK's default client needs none)")
        counts = dict(self._pending)
        if len(self._owner) + sum(counts.values()) < self.most:
            return None
        for owner in self._owner.values():
            counts[owner] = counts.get(owner, 0) + 1
        share = self.most // len(counts.keys() | {who})
        greedy = max(counts, key=lambda owner: counts[owner])
        theirs = [sid for sid, owner in self._owner.items() if owner == greedy]
        if greedy == who or mine >= share or counts[greedy] <= share or not theirs:
            held = f"you hold {mine}, your share or more: {how}" if mine else "you hold none"
            return 503, (f"this MCP server holds {sum(counts.values())} sessions, the most it keeps, none of them "
                         f"more than its client's share; {held}. Try again in a while, or call without a session")
        oldest = min(theirs, key=lambda sid: self._used[sid])
        transport = self._manager._server_instances.get(oldest)
        if transport is None:  # already on its way out
            self._owner.pop(oldest, None)
            self._used.pop(oldest, None)
        else:
            await self._manager._discard_session(oldest, transport)
        return None
