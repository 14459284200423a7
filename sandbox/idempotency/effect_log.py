"""Where a mutating request's record goes with its effect: the request log
(sandbox/requests/) registers itself here when the app starts (`on_effect`), so that its
record commits in the transaction (or the one statement) that commits the effect and the
key's answer. Kept apart from the middleware so the log needs none of its internals."""

from __future__ import annotations

from typing import Protocol

from litestar.types import Scope


class EffectLog(Protocol):
    """What records a request with its effect, told here so that its record commits with
    the effect and the key's answer."""

    async def committed(self, scope: Scope, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        """Write the record, inside the transaction that commits the effect."""
        ...

    def row(self, scope: Scope, key: str, status: int, headers: list[tuple[str, str]], body: bytes) -> tuple:
        """The record as the arguments an in-statement call writes it with (`KeyClaim.args`)
        should that call make the effect (all None: nothing to write)."""
        ...

    def written(self, scope: Scope) -> None:
        """The in-statement call made the effect and wrote `row`'s record."""
        ...


class _Unrecorded:
    """Until a log is told (`on_effect`): effects are not recorded; an in-statement call,
    which needs its record's arguments, cannot be made."""

    async def committed(self, scope: Scope, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        return None

    def row(self, scope: Scope, key: str, status: int, headers: list[tuple[str, str]], body: bytes) -> tuple:
        raise RuntimeError("no effect log: the app calls on_effect(...) before serving")

    def written(self, scope: Scope) -> None:
        return None


_log: EffectLog = _Unrecorded()


def on_effect(log: EffectLog) -> None:
    global _log
    _log = log


def current() -> EffectLog:
    return _log
