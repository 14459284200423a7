"""Which merchant a tool call acts for, when the server holds the admin key.

`new_merchant` makes a merchant through the API and answers a **merchant handle**
(`mh_` and 32 random characters): an opaque, unguessable name for it on this server.
Every tool that acts as a merchant takes it as its `merchant` argument.

- A client with a session of its own (stdio, where the process is the session, and
  streamable HTTP with the initialize handshake, whose session object the SDK gives each
  call) may leave `merchant` out: the call acts for the session's latest merchant. Its
  merchants are tied to that session object, never to a header a client sends, and they
  leave with it (the SDK closes a session on DELETE or after its idle time).
- A session-less client (the SDK's default `streamable_http_client`, protocol 2026-07-28:
  each call a request of its own) has nothing to tie a merchant to but what it holds: it
  passes the handle on every call. A handle is forgotten after IDLE_S unused, or at once
  by `forget_merchant`. Unused means no call of its own waits: the time counts from its
  last call's answer (`busy`, `answered`), so a call stalled on a slow sandbox longer than
  IDLE_S does not lose its handle.

A handle works only where it was made: a session's in that session; a session-less
one in session-less calls. A handle is a bearer credential: whoever sends it acts as its
merchant, so it is never logged whole (`shown`).

Bounds, counted per client (sandbox/mcp/fairness/peers.py: the token's holder beyond loopback, the
process on loopback; its sessions and its session-less calls together, so neither a new
session nor a new address resets them): at most `most_per_client` merchants at once,
refused in words that say what the client holds and how to free it. The server holds at
most `most_held`; when full, a newcomer still gets one: the least recently used merchant
of the client holding the most is forgotten, if that client holds more than its fair
share (`most_held` split among the clients holding any); else the newcomer is refused."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field

HANDLE_PREFIX = "mh_"
HANDLE_PATTERN = r"^mh_[A-Za-z0-9_-]{32}$"
MOST_PER_CLIENT = 20
MOST_HELD = 1000
IDLE_S = 5 * 60.0  # a session-less handle unused this long is forgotten, as an idle session ends (--idle-timeout)


@dataclass
class Merchant:
    key: str
    id: str | None = None  # known when this server made it, or once read (--key)
    clock: str | None = None
    handle: str | None = None


@dataclass
class Client:
    """One session's merchants, or one client's session-less ones."""

    name: str  # for words only: "this session", "session-less calls"
    session: bool
    identity: str = "this process"  # who holds it (sandbox/mcp/fairness/peers.py); what the bounds count
    handles: list[str] = field(default_factory=list)  # oldest first: the last one is the default


@dataclass
class _Held:
    merchant: Merchant
    client: Client
    used: float  # when its last call was answered (or, while none was, made)
    busy: int = 0  # its calls not answered yet: idle time does not run while one waits


class TooMany(Exception):
    """A bound is reached; the message says which and what to do."""


def shown(handle: str | None) -> str:
    """A handle as logs and messages may show it: its first characters only."""
    return f"{handle[:7]}…" if handle else "none"


class Registry:
    def __init__(self, clock=time.monotonic, *, idle_s: float = IDLE_S, most_per_client: int = MOST_PER_CLIENT,
                 most_held: int = MOST_HELD) -> None:
        self._held: dict[str, _Held] = {}
        self._clock = clock
        self.idle_s, self.most_per_client, self.most_held = idle_s, most_per_client, most_held

    def __len__(self) -> int:
        self._expire()
        return len(self._held)

    def held_by(self, identity: str) -> list[str]:
        """The handles a client holds, in its sessions and its session-less calls."""
        self._expire()
        return [h for h, held in self._held.items() if held.client.identity == identity]

    def add(self, client: Client, merchant: Merchant) -> str:
        self._expire()
        mine = self.held_by(client.identity)
        if len(mine) >= self.most_per_client:
            raise TooMany(f"you hold {len(mine)} merchants, the most one client may: {self._where(client, mine)}")
        if len(self._held) >= self.most_held:
            self._make_room(client, mine)
        handle = HANDLE_PREFIX + secrets.token_urlsafe(24)
        merchant.handle = handle
        self._held[handle] = _Held(merchant, client, self._clock())
        client.handles.append(handle)
        return handle

    def _make_room(self, client: Client, mine: list[str]) -> None:
        """The server is full: forget the least recently used merchant of the client holding
        the most, if that is more than its share; else refuse `client` in words."""
        counts: dict[str, int] = {}
        for held in self._held.values():
            counts[held.client.identity] = counts.get(held.client.identity, 0) + 1
        share = self.most_held // len(counts.keys() | {client.identity})
        greedy = max(counts, key=lambda who: counts[who])
        if greedy == client.identity or len(mine) >= share or counts[greedy] <= share:
            raise TooMany(f"this server holds {len(self._held)} merchants, the most it keeps, and you hold "
                          f"{len(mine)}, your share or more: {self._where(client, mine)}")
        oldest = min((h for h, held in self._held.items() if held.client.identity == greedy),
                     key=lambda h: self._held[h].used)
        self.forget(oldest)

    def _where(self, client: Client, mine: list[str]) -> str:
        """Where `client`'s merchants are and how to free one, naming only what it holds."""
        here = [h for h in mine if self._held[h].client is client]
        sessionless = [h for h in mine if not self._held[h].client.session]
        elsewhere = len(mine) - len(here) - (len(sessionless) if client.session else 0)
        said = []
        if here:
            said.append(f"{len(here)} {'in this session' if client.session else 'in session-less calls'} "
                        f"({', '.join(shown(h) for h in here[:5])}{', …' if len(here) > 5 else ''}): "
                        "forget_merchant one you are done with, from here")
        if client.session and sessionless:
            said.append(f"{len(sessionless)} in session-less calls: forget_merchant one from a session-less call, "
                        f"or leave it unused {self.idle_s / 60:g} minutes")
        if elsewhere > 0:
            said.append(f"{elsewhere} in your other sessions: end one you are done with (the client closes it, or "
                        f"it ends after {self.idle_s / 60:g} minutes idle)")
        if not said:
            return "none of them is here: wait for your other sessions to end"
        return "; ".join(said)

    def find(self, client: Client, handle: str) -> Merchant | None:
        """The merchant of `handle`, if `client` may act for it."""
        self._expire()
        held = self._held.get(handle)
        # A session's handle only in its session; a session-less one in any session-less call
        # (it is a bearer credential: its holder's, from wherever it is sent).
        if held is None or held.client is not client and (held.client.session or client.session):
            return None
        held.used = self._clock()
        return held.merchant

    def busy(self, handle: str) -> None:
        """A call acting for `handle` has begun: it cannot idle out while it waits."""
        held = self._held.get(handle)
        if held is not None:
            held.busy += 1

    def answered(self, handle: str) -> None:
        """A call acting for `handle` has ended: its idle time counts from now."""
        held = self._held.get(handle)
        if held is not None:
            held.busy = max(0, held.busy - 1)
            held.used = self._clock()

    def latest(self, client: Client) -> Merchant | None:
        self._expire()
        for handle in reversed(client.handles):
            if handle in self._held:
                self._held[handle].used = self._clock()
                return self._held[handle].merchant
        return None

    def forget(self, handle: str) -> None:
        held = self._held.pop(handle, None)
        if held is not None and handle in held.client.handles:
            held.client.handles.remove(handle)

    def end(self, client: Client) -> None:
        """A session ended: its merchants leave with it."""
        for handle in list(client.handles):
            self.forget(handle)

    def _expire(self) -> None:
        now = self._clock()
        for handle, held in list(self._held.items()):
            if not held.client.session and not held.busy and now - held.used > self.idle_s:
                self.forget(handle)
