"""The request log's part in the gate (sandbox/api/gate.py): `begin` once the key has
authenticated, `before` for the request's fault, `end` when the request is done. The
idempotency middleware tells it the key's outcome and the body it read (scope state), and
has it write a mutating request's entry with the request's effect (`committed` inside its
transaction; `row` for POST /payouts' one call, which writes it)."""

from __future__ import annotations

from litestar.enums import ScopeType
from litestar.types import Scope

from sandbox.clocks import store as clocks
from sandbox.core import clock
from sandbox.core.ids import ensure_request_id
from sandbox.faults import effects
from sandbox.faults.kinds import AFTER_COMMIT
from sandbox.idempotency.claims import KEY_USE, REQUEST_BODY
from sandbox.requests import store, writer
from sandbox.requests.entry import STATE, Entry, of


class Journal:
    __slots__ = ()

    async def begin(self, scope: Scope, principal) -> Entry | None:
        """The request's entry, None when no merchant sent it (an admin key). The request
        works at its merchant's clock from here on, at its clock's time on a manual clock
        (the payouts it creates or cancels, its top-ups, its webhook endpoints), and so
        does its entry."""
        if principal.merchant_id is None or scope["type"] != ScopeType.HTTP:
            return None
        await clocks.follow(principal.merchant_id)
        entry = Entry(scope, ensure_request_id(scope), principal.merchant_id, clock.now(), principal.secrets)
        scope["state"][STATE] = entry
        return entry

    async def before(self, scope: Scope, entry: Entry, principal) -> None:
        """The request's fault, if any: a fault after commit changes where the answer goes;
        one before anything raises its refusal or waits here."""
        picked = await effects.pick(scope, entry.method, entry.merchant_id, principal.fault_rules)
        if picked is None:
            return
        kind, delay_s = picked
        entry.fault = kind
        if kind in AFTER_COMMIT:
            entry.downstream = effects.after_commit(kind, delay_s, scope, entry.downstream,
                                                    lambda: self.end(scope, entry))
        else:
            await effects.before(kind, delay_s)

    # The idempotency middleware's EffectLog (idempotency/effect_log.py): a mutating request's
    # entry commits with its effect.

    async def committed(self, scope: Scope, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        """In the middleware's transaction, once the effect and the key's stored answer are
        written: the entry joins them."""
        entry = of(scope)
        if entry is None:
            return
        _take_key_use(scope, entry)
        entry.answered(status, headers, body)
        await writer.in_transaction(entry)

    def row(self, scope: Scope, key: str, status: int, headers: list[tuple[str, str]], body: bytes) -> tuple:
        """The entry as the one call that makes the effect (POST /payouts' `payout_create`)
        writes it, should it make it: answered `status` with `body`, the key's first use.
        The entry itself is left as it is until `written`: a call that finds the key in
        use or answered makes nothing, and the entry is then written after its answer."""
        entry = of(scope)
        if entry is None:
            return store.NO_RECORD
        made = entry.clone()
        _take_key_use(scope, made)
        made.idempotency_key, made.outcome = key, "first"
        made.answered(status, headers, body)
        made.finish()
        return made.record()

    def written(self, scope: Scope) -> None:
        if (entry := of(scope)) is not None:
            entry.written = True

    async def write_before_answer(self, scope: Scope, entry: Entry) -> None:
        """A mutating request whose entry did not commit with an effect (a replay, a
        refusal): written before the last of its answer leaves, so the client that reads
        its log next finds it, whichever API process answers that read (each holds its own
        batch: `writer.WRITER`). Best effort, as a batch is."""
        if entry.written:
            return
        _take_key_use(scope, entry)
        entry.finish()
        entry.written = True
        await writer.write_now(entry)

    def end(self, scope: Scope, entry: Entry) -> None:
        """Hand the entry to the writer, once: when the request is done, or as soon as its
        true answer is known when a fault after commit holds or drops it."""
        _take_key_use(scope, entry)
        if not entry.written:
            entry.finish()
            entry.written = True
            writer.WRITER.later(entry)


    def done(self, scope: Scope, entry: Entry) -> None:
        """The request is over: its entry goes to the writer (unless it went already) and
        leaves the scope. The entry holds the send chain, which holds the server's request
        cycle and so the scope: left there, each request would end as a reference cycle,
        freed only by the garbage collector (a tenth of a GET's CPU in docs/benchmark.md)."""
        self.end(scope, entry)
        del scope["state"][STATE]


def _take_key_use(scope: Scope, entry: Entry) -> None:
    state = scope["state"]
    if (use := state.get(KEY_USE)) is not None:
        entry.idempotency_key, entry.outcome = use
    if (body := state.get(REQUEST_BODY)) is not None:
        entry.took_body(*body)


JOURNAL = Journal()
