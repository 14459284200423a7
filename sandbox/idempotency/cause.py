"""What caused the writes of the current task: the API request (its `X-Request-ID` and
idempotency key) or nothing, when the worker, the rail's callback or a clock did.

Every event records its cause (`request` on the event, in webhook bodies): a receiver
can tell the payout its own call changed from one the sandbox moved on. The idempotency
middleware sets it around every mutating request; anything else leaves it unset."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Annotated

import msgspec


class RequestCause(msgspec.Struct, frozen=True):
    """The API request an event came from."""

    id: Annotated[str, msgspec.Meta(description="The request's `X-Request-ID` (the client's own when it sent one)")]
    idempotency_key: Annotated[str | None, msgspec.Meta(description="The request's idempotency key")]


_current: ContextVar[bytes | None] = ContextVar("sandbox_cause", default=None)


@contextlib.contextmanager
def requested(request_id: str, idempotency_key: str | None) -> Iterator[None]:
    """Writes made inside this block were caused by this request."""
    token = _current.set(msgspec.json.encode(RequestCause(request_id, idempotency_key)))
    try:
        yield
    finally:
        _current.reset(token)


@contextlib.contextmanager
def unrequested() -> Iterator[None]:
    """Writes made inside this block happen on the sandbox's own account even though a
    request runs them (a clock advanced by a request applies the steps the clock made due)."""
    token = _current.set(None)
    try:
        yield
    finally:
        _current.reset(token)


def current_json() -> str | None:
    """The current cause as JSON text (what the outbox stores), None when no request caused it."""
    value = _current.get()
    return value.decode() if value is not None else None
