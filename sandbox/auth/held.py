"""Everything long-lived that a key opens, in one place: while it is open it is held here,
and it ends within a second of the moment its key stops working, on every API process.

| what | opened by | authorised | ended by |
| --- | --- | --- | --- |
| the request-log stream (`GET /sandbox/requests/stream`, `sandbox logs tail`) | a merchant key | the key, once, at open | `REQUEST_LOG_STREAM` here |
| a listener's stream (`GET /webhook-listeners/{id}/stream`, `sandbox listen`) | a merchant key | the key and the endpoint, at open | `LISTENER_STREAM` here |
| a dashboard session (a cookie holding the key) | a sign-in | the key, on every page | the key check of the next page (no connection stays open) |
| an MCP session (`sandbox mcp`) | the key the server was started with, or a handle it made | the key, on every call | the key check of the next call (the MCP server is a client of the API) |

docs/security.md keeps the same table for users.

A stream holds a `Held`: the key's id, its merchant and team, and when a rolled key's overlap
ends (`expires_at`). It ends (`Held.end`) with a cause, and its last event says which
(`key_revoked`, data `Revoked`):
- `key_revoked`: the key was revoked (rolled with no overlap, or revoked outright);
- `key_expired`: the key was rolled with an overlap, and the overlap has ended (a timer);
- `merchant_removed`, `team_removed`: its merchant or team is gone (retention, removal).

How a revocation reaches every API process: any change to a key, a merchant or a team sends
`NOTIFY sandbox_auth` (auth/cache.py), which every API process hears on its listening
connection. On each, a process that holds anything asks the database, in one query, which of
its held keys still work (`recheck`); those that do not are ended at once. A change made
through the API (a roll) answers only once every API process has acknowledged it, and each
acknowledges only after that recheck (cache.AuthCache._acknowledge): from the roll's answer
on, every stream of a revoked key has been told to end, on every process. A process that
lost its listening connection rechecks when it listens again (it may have missed changes).

Rechecks coalesce: one query at a time, and a request made while one runs is answered by the
next, which covers it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Annotated

import msgspec

from sandbox.auth.principal import Principal
from sandbox.core.types import said

log = logging.getLogger("sandbox.auth")

REQUEST_LOG_STREAM = "the request-log stream"
LISTENER_STREAM = "a listener's stream"
EVENT = "key_revoked"  # the last event of a stream whose key stopped working
RECHECK_TIMEOUT_S = 1.0

# The causes, and their words (the last event's `reason`).
CAUSES = {
    "key_revoked": "the API key that opened this stream was revoked; do not reconnect with it: use a working key",
    "key_expired": "the API key that opened this stream was rolled and its overlap has ended; reconnect with the "
                   "new key",
    "merchant_removed": "the merchant this stream belonged to was removed",
    "team_removed": "the team this stream's merchant belonged to was removed",
}


class Revoked(msgspec.Struct):
    """A stream's last event when the key that opened it stops working (`event: key_revoked`):
    do not reconnect with that key."""

    code: Annotated[str, msgspec.Meta(extra_json_schema={"enum": sorted(CAUSES)}), said(
        "Why: key_revoked, key_expired (a rolled key's overlap ended), merchant_removed or team_removed")]
    reason: Annotated[str, said("The same, in words, with what to do")]


@dataclass(eq=False)
class Held:
    kind: str
    key_id: str
    merchant_id: str | None
    team_id: str | None
    expires_at: float | None
    cause: str | None = None
    # The stream's waits (going_away.unless_ended): ending cancels them, so it ends at once.
    waits: set[asyncio.Future] = field(default_factory=set)
    _timer: asyncio.TimerHandle | None = None

    def end(self, cause: str) -> None:
        if self.cause is not None:
            return
        self.cause = cause
        log.info("%s of key %s ended: %s", self.kind, self.key_id, cause)
        for wait in list(self.waits):
            wait.cancel()

    def expire_at(self, posix: float) -> None:
        """End with `key_expired` at `posix` (a rolled key's overlap ends then)."""
        if self._timer is not None:
            self._timer.cancel()
        self.expires_at = posix
        self._timer = asyncio.get_running_loop().call_later(max(0.0, posix - time.time()), self.end, "key_expired")

    def follow(self, state) -> None:
        """End, or set the moment to end, as the key's state read now says (`_STATE_SQL`)."""
        if state["merchant_gone"]:
            self.end("merchant_removed")
        elif state["team_gone"]:
            self.end("team_removed")
        elif not state["key_exists"]:
            self.end("key_revoked")
        elif state["revoked_at"] is not None:
            ends_at = state["revoked_at"].timestamp()
            if state["revoked_at"] > state["now"]:
                if self.expires_at != ends_at:
                    self.expire_at(ends_at)  # rolled with an overlap while open: it ends when the overlap does
            else:  # its overlap ran out (the timer's moment) or it was revoked before then
                overlap_ended = self.expires_at is not None and ends_at >= self.expires_at - 0.001
                self.end("key_expired" if overlap_ended else "key_revoked")

    def last_words(self) -> Revoked:
        assert self.cause is not None
        return Revoked(code=self.cause, reason=CAUSES[self.cause])


_HELD: set[Held] = set()
CURRENT: ContextVar[Held | None] = ContextVar("held_stream", default=None)


@contextlib.contextmanager
def holding(kind: str, principal: Principal) -> Iterator[Held]:
    """Hold `kind` for `principal`'s key while the block runs."""
    held = Held(kind, principal.key_id, principal.merchant_id, principal.team_id, None)
    if principal.expires_at is not None:
        held.expire_at(principal.expires_at)
    _HELD.add(held)
    try:
        yield held
    finally:
        _HELD.discard(held)
        if held._timer is not None:
            held._timer.cancel()


# Each held key as the key check (auth/keys.py) would find it now: whether it exists, when it
# stops working (NULL: never rolled), and whether its merchant and team are gone.
_STATE_SQL = """
SELECT h.key_id, k.id IS NOT NULL AS key_exists, k.revoked_at, now() AS now,
       h.merchant_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM merchant m WHERE m.id = h.merchant_id)
           AS merchant_gone,
       h.team_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM team t WHERE t.id = h.team_id) AS team_gone
  FROM unnest($1::text[], $2::text[], $3::text[]) AS h(key_id, merchant_id, team_id)
  LEFT JOIN api_key k ON k.id = h.key_id"""


class _Rounds:
    """Coalesced rechecks: a request is answered by the first round that starts after it."""

    def __init__(self) -> None:
        self.asked = 0
        self.covered = 0
        self.lock = asyncio.Lock()
        self.tasks: set[asyncio.Task] = set()


_ROUNDS = _Rounds()


async def recheck() -> None:
    """End every held thing whose key no longer works (see the module's docstring)."""
    if not _HELD:
        return
    rounds = _ROUNDS
    rounds.asked += 1
    mine = rounds.asked
    async with rounds.lock:
        if rounds.covered >= mine:
            return
        started = rounds.asked
        await check([h for h in _HELD if h.cause is None])
        rounds.covered = started


async def check(held: list[Held]) -> None:
    """End those of `held` whose key no longer works, in one query. A stream checks itself
    this way once it is held: its key may have stopped working since the request's key check."""
    from sandbox import db

    if not held:
        return
    keys = {(h.key_id, h.merchant_id, h.team_id) for h in held}
    key_ids, merchants, teams = (list(column) for column in zip(*keys, strict=True))
    states = {row["key_id"]: row for row in await db.fetch(_STATE_SQL, key_ids, merchants, teams)}
    for h in held:
        if (state := states.get(h.key_id)) is not None:
            h.follow(state)


async def check_quietly(held: Held) -> None:
    """`check([held])`; a failure (PostgreSQL away) leaves it to the next notification."""
    try:
        async with asyncio.timeout(RECHECK_TIMEOUT_S):
            await check([held])
    except Exception as exc:  # noqa: BLE001
        log.warning("could not check the key of a new stream (%s: %s)", type(exc).__name__, exc)


def changed() -> None:
    """A key, merchant or team changed (a notification): recheck in the background."""
    if not _HELD:
        return
    task = asyncio.get_running_loop().create_task(recheck_quietly())
    _ROUNDS.tasks.add(task)
    task.add_done_callback(_ROUNDS.tasks.discard)


async def recheck_quietly() -> None:
    """`recheck`, bounded in time; a failure is logged (the next notification tries again)."""
    try:
        async with asyncio.timeout(RECHECK_TIMEOUT_S):
            await recheck()
    except Exception as exc:  # noqa: BLE001 - the next notification, or the expiry timer, tries again
        log.warning("could not recheck the keys of open streams (%s: %s)", type(exc).__name__, exc)
