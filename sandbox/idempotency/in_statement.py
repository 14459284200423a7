"""A key taken by the handler's own statement (routes marked `opt={IN_STATEMENT: True}`;
POST /payouts, the hot path): the middleware opens no transaction and hands the handler a
`KeyClaim`; the handler's one database call takes the key's lock, looks up the stored
response, makes the effect and stores its response, in one round trip. The middleware
(claims.py) then answers what the claim found, exactly as for every other route."""

from __future__ import annotations

import asyncpg
import msgspec
from litestar.types import Scope

from sandbox.idempotency import effect_log
from sandbox.idempotency.keys import TTL, lock_name

IN_STATEMENT = "idempotency_in_statement"  # route opt: the handler's statement takes the key
_CLAIM = "idempotency_claim"  # where the claim waits in the scope's state for the handler
_JSON_HEADERS = msgspec.json.encode([("content-type", "application/json")]).decode()


class KeyClaim:
    """A request's idempotency key, handed to a handler whose one database call takes it.
    The handler passes `args(...)` to its call and gives the call's result to `settle`;
    the middleware then answers from `outcome`."""

    IN_USE, STORED, REFUSED, CREATED = "in_use", "stored", "refused", "created"

    def __init__(self, scope: Scope, scope_id: str, key: str, request_hash: str) -> None:
        self.scope = scope
        self.scope_id, self.key, self.request_hash = scope_id, key, request_hash
        self.outcome: str | None = None
        self.stored: asyncpg.Record | None = None

    def args(self, status: int, body: bytes) -> tuple:
        """The request's part of the call: the key's lock, its lookup, and the response to
        store when the effect is made (a JSON body, as the handler's return value is
        encoded); then the request's record (`EffectLog.row`), written with the effect."""
        answered = [("content-type", "application/json"), ("content-length", str(len(body)))]
        return (lock_name(self.scope_id, self.key), self.scope_id, self.key, self.request_hash, TTL, status,
                _JSON_HEADERS, body, *effect_log.current().row(self.scope, self.key, status, answered, body))

    def settle(self, record: asyncpg.Record | None) -> str:
        """Record what the call did and return it: IN_USE, STORED (the key's stored
        response, to replay), REFUSED (it wrote nothing; the handler then raises why, and
        None stands for a call that failed that way), or CREATED (the effect is made and
        its response stored)."""
        outcome: str = record["outcome"] if record is not None else self.REFUSED
        self.outcome = outcome
        if outcome == self.STORED:
            self.stored = record
        elif outcome == self.CREATED:
            effect_log.current().written(self.scope)
        return outcome


def hand_over(state, claim: KeyClaim) -> None:
    state[_CLAIM] = claim


def take_back(state) -> None:
    del state[_CLAIM]


def claim_of(state) -> KeyClaim | None:
    """The key claim the middleware handed this request, if its route takes one."""
    return state.get(_CLAIM)
