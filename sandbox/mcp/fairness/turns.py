"""Turns at being served: the requests of every client, fair in time, on the one event loop
that serves them all (issue 92).

The cap in flight (sandbox/mcp/fairness/inflight.py) bounds a client's requests at 8, but 8
served at once still share the loop, the API's connections and the machine with a polite
client's one: under heavy load the polite client's call took 1/9 of the loop and missed the
issue's goal. So a request, once its body is read (a slow upload holds no turn: the cap
counts it while it arrives), waits for a turn before the app handles it, and holds it until
its answer's last part is being sent:

- a client holding no turn gets one at once, however many are taken: the handshake,
  discovery or call of a client under its bounds is never queued behind another's excess
  (so there is no deadlock either: every client always has one request going);
- past that, at most SERVING requests are served at once, all clients together; a client's
  2nd..8th request waits in its own queue (first in, first out; at most its cap, so memory
  stays bounded), and a turn given back goes to the clients waiting in rotation, one
  request each, the one just served to the back;
- a client alone is served as if there were no turns: while no other client holds a turn,
  waits for one, or asked for one in the last ACTIVE_S, its requests are all served at once
  (as many as its cap lets in flight). Turns bind only while clients share the loop, so a
  lone agent's concurrent calls that wait on the API are not held to two (they were, at
  first: a third of the calls a second; docs/coding-agents.md). ACTIVE_S, not "holds a turn
  now": a polite client between two of its calls holds nothing, and the greedy client's 8
  served meanwhile would be there again when its next call comes.

Queued, not refused: the cap already refused what a client sends past it, and what it holds
under the cap is its due. Round-robin rather than a weight per client: clients are
processes or token holders, all alike. SERVING is 2: with a polite client's request
going, a greedy client then has one served beside it, one to one on a loop that is one
thread. A turn is held while a tool waits on the API, so that a client's slow calls never hold more
than their share while others are served.

Only JSON-RPC requests (`guard` in sandbox/mcp/http.py says which) take a turn: a
notification or a response to the server is answered at once, and a GET or DELETE never
waits. Built on anyio's Event: the queue is this module's, the waiting is anyio's."""

from __future__ import annotations

import time
from collections import OrderedDict, deque

import anyio
from starlette.types import ASGIApp, Receive, Scope, Send

from sandbox.mcp.connection import IDENTITY
from sandbox.mcp.fairness.inflight import released_when_answered

SERVING = 2  # requests served at once past each client's first, all clients together
ACTIVE_S = 1.0  # a client that asked for a turn this recently is still sharing the loop
REQUEST = "mypay-sandbox.jsonrpc-request"  # in the ASGI scope: the body is a JSON-RPC request (set by guard)


class _Turn:
    __slots__ = ("given", "ready")

    def __init__(self) -> None:
        self.ready, self.given = anyio.Event(), False


class Turns:
    def __init__(self, serving: int = SERVING, active_s: float = ACTIVE_S) -> None:
        self.serving, self.active_s = serving, active_s
        self._asked: OrderedDict[str, float] = OrderedDict()  # who -> when it last asked, oldest first
        self._busy = 0  # turns held, all clients
        self._held: dict[str, int] = {}  # who -> turns it holds (none: not kept)
        self._waiting: OrderedDict[str, deque[_Turn]] = OrderedDict()  # who -> its queue, in the rotation's order

    def held(self, who: str) -> int:
        return self._held.get(who, 0)

    def waiting(self, who: str) -> int:
        return len(self._waiting.get(who, ()))

    async def take(self, who: str) -> None:
        """Until `who` holds a turn (give it back with `give_back`)."""
        self._saw(who)
        if not self._held.get(who) or (not self._waiting and (self._busy < self.serving or self._alone(who))):
            self._give(who)
            return
        turn = _Turn()
        self._waiting.setdefault(who, deque()).append(turn)
        try:
            await turn.ready.wait()
        except BaseException:  # cancelled (the client went away): its place, or its turn, given up
            if turn.given:
                self.give_back(who)
            else:
                queue = self._waiting[who]
                queue.remove(turn)
                if not queue:
                    del self._waiting[who]
            raise

    def give_back(self, who: str) -> None:
        self._busy -= 1
        left = self._held[who] - 1
        if left:
            self._held[who] = left
        else:
            del self._held[who]
        self._hand_out()

    def _give(self, who: str) -> None:
        self._busy += 1
        self._held[who] = self._held.get(who, 0) + 1

    def _hand_out(self) -> None:
        # A client left waiting with no turn of its own (its last one just given back) is served
        # at once, as a newcomer would be; then the free turns, in rotation.
        for who in [who for who in self._waiting if not self._held.get(who)]:
            self._next_of(who)
        while self._waiting and (self._busy < self.serving or self._alone(next(iter(self._waiting)))):
            self._next_of(next(iter(self._waiting)))

    def _saw(self, who: str) -> None:
        """`who` asks now; those that asked longer than active_s ago are forgotten (nothing is
        kept per client for long, however many clients come and go)."""
        now = time.monotonic()
        self._asked[who] = now
        self._asked.move_to_end(who)
        while next(iter(self._asked.values())) < now - self.active_s:
            self._asked.popitem(last=False)

    def _alone(self, who: str) -> bool:
        """No other client holds a turn, waits for one, or asked for one in the last active_s."""
        since = time.monotonic() - self.active_s
        while self._asked and next(iter(self._asked.values())) < since:
            self._asked.popitem(last=False)
        return all(other == who for mine in (self._asked, self._held, self._waiting) for other in mine)

    def _next_of(self, who: str) -> None:
        queue = self._waiting[who]
        turn = queue.popleft()
        if queue:
            self._waiting.move_to_end(who)  # one request each, in rotation
        else:
            del self._waiting[who]
        self._give(who)
        turn.given = True
        turn.ready.set()

    def middleware(self, app: ASGIApp) -> ASGIApp:
        async def in_turn(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http" or scope["method"] != "POST" or not scope.get(REQUEST):
                await app(scope, receive, send)
                return
            who = scope[IDENTITY]  # named by the cap in flight, outside this layer
            await self.take(who)
            await released_when_answered(app, scope, receive, send, lambda: self.give_back(who))

        return in_turn
