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
  by `forget_merchant`.

A handle works only where it was made: a session's in that session; a session-less
one in session-less calls. Bounds, refused in words and never met by forgetting
another client's merchant: MOST_PER_CLIENT merchants held at once by one session (for
session-less calls, by one peer address), MOST_HELD in all. Handles are never logged
whole (`shown`)."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field

HANDLE_PREFIX = "mh_"
HANDLE_PATTERN = r"^mh_[A-Za-z0-9_-]{32}$"
MOST_PER_CLIENT = 20
MOST_HELD = 1000
IDLE_S = 30 * 60.0  # as long as the SDK keeps an idle session (DEFAULT_SESSION_IDLE_TIMEOUT)


@dataclass
class Merchant:
    key: str
    id: str | None = None  # known when this server made it, or once read (--key)
    clock: str | None = None
    handle: str | None = None


@dataclass
class Client:
    """One session's merchants, or one peer address's session-less ones."""

    name: str  # for words only: "this session", "127.0.0.1"
    session: bool
    handles: list[str] = field(default_factory=list)  # oldest first: the last one is the default


@dataclass
class _Held:
    merchant: Merchant
    client: Client
    used: float


class TooMany(Exception):
    """A bound is reached; the message says which and what to do."""


def shown(handle: str | None) -> str:
    """A handle as logs and messages may show it: its first characters only."""
    return f"{handle[:7]}…" if handle else "none"


class Registry:
    def __init__(self, clock=time.monotonic) -> None:
        self._held: dict[str, _Held] = {}
        self._clock = clock

    def __len__(self) -> int:
        self._expire()
        return len(self._held)

    def add(self, client: Client, merchant: Merchant) -> str:
        self._expire()
        if len(client.handles) >= MOST_PER_CLIENT:
            where = ("this session" if client.session else
                     f"session-less calls from {client.name}")
            raise TooMany(f"{where} already holds {MOST_PER_CLIENT} merchants, the most one client may: "
                          "forget_merchant one you are done with"
                          + ("" if client.session else f" (or wait: a handle unused for {IDLE_S / 60:g} minutes "
                                                       "is forgotten)"))
        if len(self._held) >= MOST_HELD:
            raise TooMany(f"this server already holds {MOST_HELD} merchants, the most it keeps; none is forgotten "
                          "to make room: try again once sessions end or idle handles expire")
        handle = HANDLE_PREFIX + secrets.token_urlsafe(24)
        merchant.handle = handle
        self._held[handle] = _Held(merchant, client, self._clock())
        client.handles.append(handle)
        return handle

    def find(self, client: Client, handle: str) -> Merchant | None:
        """The merchant of `handle`, if `client` may act for it."""
        self._expire()
        held = self._held.get(handle)
        # A session's handle only in its session; a session-less one in any session-less call
        # (it is its holder's, from wherever it is sent).
        if held is None or held.client is not client and (held.client.session or client.session):
            return None
        held.used = self._clock()
        return held.merchant

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
            if not held.client.session and now - held.used > IDLE_S:
                self.forget(handle)
