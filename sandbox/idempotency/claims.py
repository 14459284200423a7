"""Idempotency as middleware around every mutating /api/v1 route.

One transaction spans the whole request: a transaction-scoped advisory lock on
(scope, key) answers concurrent duplicates with 409, a stored row answers later
duplicates with the stored response, and on success the key row is written in the
same transaction as the handler's effect — so a crash leaves neither or both.

What is stored: 2xx responses (with their effect) and the 4xx outcomes a retry would
get again anyway (404, 409 invalid_state / duplicate_reference, 422 insufficient_funds;
these have no effect, so they are stored after rolling back). Not stored: input that
never reached the handler's logic (400, 401, 403, 413, 415, 429) and 5xx — the client
may fix the problem and retry with the same key.

Events the handler writes name the request as their cause (`sandbox.idempotency.cause`).

A route marked `opt={IN_STATEMENT: True}` (POST /payouts, the hot path) lets its own one
statement take the key: the middleware opens no transaction, hands the handler a
`KeyClaim`, and the handler's database call takes the same advisory lock, looks up the
stored response, makes the effect and stores its response, all in one round trip. The
rule stays here: the claim says what the call found, and this middleware answers it
(409 in use, a replay, 422 reused, a refusal stored after the fact) exactly as for every
other route. A handler that refuses the input before making its call runs again the
ordinary way.

Here: the middleware and the order of its rules. Beside it: the key's row and what makes
two requests the same (keys.py), the captured and stored answers (responses.py), the
in-statement claim (in_statement.py), and the request log's hook (effect_log.py)."""

from __future__ import annotations

import re
from collections.abc import Callable

from litestar.enums import ScopeType
from litestar.handlers import HTTPRouteHandler
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, HTTPScope, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

from sandbox import db
from sandbox.core.errors import IdempotencyKeyInUse, IdempotencyKeyMissing, ValidationFailed
from sandbox.core.ids import ensure_request_id
from sandbox.core.problem_answers import answer, to_api_error
from sandbox.idempotency import cause, effect_log, in_statement, keys
from sandbox.idempotency.body import Body, check_json, check_media_type, check_types, read_body, replay_receive
from sandbox.idempotency.in_statement import IN_STATEMENT, KeyClaim
from sandbox.idempotency.responses import Capture, StoredResponse, send_stored

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# A route whose `opt` holds READ_ONLY answers a POST without changing anything (a check, a
# verdict): it needs no idempotency key, and one sent is not stored (a repeat simply asks
# again). Its body is still checked as every POST's is.
READ_ONLY = "read_only"
HEADERS = (b"x-idempotency-key", b"idempotency-key")
KEY_RE = re.compile(r"^[\x21-\x7e]{1,255}$")
STORED_ERROR_CODES = frozenset({"not_found", "invalid_state", "duplicate_reference", "insufficient_funds"})
# What the request log reads from the scope's state: (key, outcome) once the key's outcome
# is known (`first`, `replayed`, `conflict` for a reused key with another body, `in_flight`),
# and (the body if it was kept in memory, its size) once read.
KEY_USE = "idempotency_key_use"
REQUEST_BODY = "idempotency_request_body"
# The key row's (scope, key), for a handler whose effect must name the row that answers for
# it (a merchant made by a team key: retention removes that row with the merchant).
KEY_ROW = "idempotency_key_row"


def key_row(state) -> tuple[str, str] | None:
    """The request's idempotency key row (scope, key), while its handler runs."""
    return state.get(KEY_ROW)


def needs_key(scope: Scope) -> bool:
    """Whether this request must claim an idempotency key: a mutating method on a route
    that changes something."""
    if scope.get("method") not in MUTATING:
        return False
    route_handler = scope.get("route_handler")
    return not (route_handler is not None and route_handler.opt.get(READ_ONLY))


def _use(scope: Scope, key: str, outcome: str) -> None:
    scope["state"][KEY_USE] = (key, outcome)


def _header(scope: Scope, names: tuple[bytes, ...]) -> str | None:
    for name, value in scope.get("headers", []):
        if name in names:
            return value.decode("latin-1")
    return None


def _replay_for(scope: Scope, key: str, row, request_hash: str) -> StoredResponse:
    """`keys.replay`, noting the key's outcome for the request log."""
    _use(scope, key, "conflict" if row["request_hash"] != request_hash else "replayed")
    return keys.replay(row, request_hash)


class IdempotencyMiddleware(ASGIMiddleware):
    scopes = ("http",)  # type: ignore[assignment]

    def __init__(self, max_body_bytes: int, form_field: str | None = None,
                 refused: Callable[[Scope], bool] | None = None) -> None:
        """`form_field`: take the key from this field of an HTML form instead of the header
        (the dashboard renders a fresh one into every form, so a double submit or a reload
        of the POST acts once). A form's success is a redirect (Post/Redirect/Get) unless
        `refused(scope)` says the handler reported a refusal on the page it redirects to;
        a refusal is rolled back, like an API error."""
        self.max_body_bytes = max_body_bytes
        self.form_field = form_field
        self.refused = refused

    def _succeeded(self, scope: Scope, status: int) -> bool:
        if 200 <= status < 300:
            return True
        return (self.form_field is not None and 300 <= status < 400
                and not (self.refused is not None and self.refused(scope)))

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        principal = scope.get("state", {}).get("principal")
        if scope["type"] != ScopeType.HTTP or scope["method"] not in MUTATING or principal is None:
            await next_app(scope, receive, send)
            return
        key = None
        read_only = not needs_key(scope)
        # A route may allow a larger body than the default (payout batch uploads).
        route_handler = scope.get("route_handler")
        if self.form_field is None:
            key = None if read_only else self._key(_header(scope, HEADERS), "X-Idempotency-Key")
            check_media_type(scope, accepts_files=bool(route_handler and route_handler.opt.get("accepts_files")))
        limit = (route_handler.resolve_request_max_body_size() if isinstance(route_handler, HTTPRouteHandler)
                 else None) or self.max_body_bytes
        body = await read_body(scope, receive, limit)
        in_memory = body.in_memory
        scope["state"][REQUEST_BODY] = (in_memory, body.size)
        if in_memory is not None:  # Litestar's `Request.body` takes these bytes, not reading them again
            ScopeState.from_scope(scope).body = in_memory
        try:
            if self.form_field is None:
                check_json(scope, body)
                check_types(scope, body)
                if read_only:  # checked as every body is; nothing to claim or store
                    with cause.requested(ensure_request_id(scope), None):
                        await next_app(scope, replay_receive(body, receive), send)
                    return
            elif (value := body.form_value(self.form_field)) is None:
                # Every rendered form has a key; a POST without one is a hand-made request
                # (its CSRF check refuses a forged one), served as it is, without replays.
                with cause.requested(ensure_request_id(scope), None):
                    await next_app(scope, replay_receive(body, receive), send)
                return
            else:
                key = self._key(value, self.form_field)
            assert key is not None  # from the header or the form field, by the same test above
            if route_handler is not None and route_handler.opt.get(IN_STATEMENT) and \
                    await self._in_statement(scope, receive, send, next_app, principal, key, body):
                return
            await self._handle(scope, receive, send, next_app, principal, key, body)
        finally:
            await body.close()

    def _key(self, key: str | None, where: str) -> str:
        if key is None:
            raise IdempotencyKeyMissing("Send an X-Idempotency-Key header with every POST, PUT, PATCH and DELETE")
        if not KEY_RE.fullmatch(key):
            raise ValidationFailed.field(where, "must be 1 to 255 visible ASCII characters")
        return key

    async def _in_statement(self, scope: HTTPScope, receive: Receive, send: Send, next_app: ASGIApp, principal,
                            key: str, body: Body) -> bool:
        """The handler's one call takes the key; False when the handler refused the input
        without making it, so the request must run the ordinary way: there the key is
        looked up first, and a reused key answers 422 before the input is judged. (A 5xx,
        say the database being down, is answered as it is: never stored, never re-run.)"""
        claim = KeyClaim(scope, await keys.scope_of(scope, principal), key, keys.fingerprint(scope, body))
        state = scope.setdefault("state", {})
        in_statement.hand_over(state, claim)
        state[KEY_ROW] = (claim.scope_id, key)
        capture = Capture()
        try:
            with cause.requested(ensure_request_id(scope), key):
                await next_app(scope, replay_receive(body, receive), capture.send)
        finally:
            in_statement.take_back(state)
        ScopeState.from_scope(scope).response_started = False
        if claim.outcome is None and capture.status < 500:
            return False
        if claim.outcome == KeyClaim.IN_USE:
            _use(scope, key, "in_flight")
            raise IdempotencyKeyInUse()
        if claim.outcome == KeyClaim.STORED:
            outcome, stored = "replay", _replay_for(scope, key, claim.stored, claim.request_hash)
        else:
            stored = capture.stored()
            # REFUSED: the call wrote nothing and the handler raised why; stored as below.
            outcome = "store_error" if (claim.outcome == KeyClaim.REFUSED and capture.status < 500
                                        and capture.error_code() in STORED_ERROR_CODES) else "fresh"
        await self._answer(scope, send, outcome, stored, capture, claim.scope_id, key, claim.request_hash)
        return True

    async def _handle(self, scope: HTTPScope, receive: Receive, send: Send, next_app: ASGIApp, principal, key: str,
                      body: Body) -> None:
        request_hash = keys.fingerprint(scope, body)
        scope_id = await keys.scope_of(scope, principal)

        capture = Capture()
        outcome = "fresh"
        async with db.transaction() as tx:
            row = await db.fetchrow(keys.CLAIM_SQL, keys.lock_name(scope_id, key), scope_id, key)
            assert row is not None  # idempotency_claim returns one row, always
            if not row["got_lock"]:
                _use(scope, key, "in_flight")
                raise IdempotencyKeyInUse()
            if row["request_hash"] is not None:
                stored = _replay_for(scope, key, row, request_hash)
                outcome = "replay"
            else:
                scope["state"][KEY_ROW] = (scope_id, key)
                with cause.requested(ensure_request_id(scope), key):
                    await next_app(scope, replay_receive(body, receive), capture.send)
                # The route's own exception layer marked the response as started, but it was only
                # captured: let a failing commit below still be rendered (503, not a bare 500).
                ScopeState.from_scope(scope).response_started = False
                stored = capture.stored()
                if self._succeeded(scope, capture.status):
                    if not await keys.store(scope_id, key, request_hash, stored):
                        # A request that held the key before stored its refusal after
                        # giving the lock up (see `_answer`): undo this one's effect and
                        # answer as a duplicate does.
                        await tx.rollback()
                        outcome = "lost_race"
                    else:
                        _use(scope, key, "first")
                        await effect_log.current().committed(scope, capture.status, capture.headers,
                                                             bytes(capture.body))
                else:
                    await tx.rollback()
                    if capture.status < 500 and capture.error_code() in STORED_ERROR_CODES:
                        outcome = "store_error"
        # Leaving the block committed the effect together with the key row (or rolled back).
        await self._answer(scope, send, outcome, stored, capture, scope_id, key, request_hash)

    async def _answer(self, scope: Scope, send: Send, outcome: str, stored: StoredResponse, capture: Capture,
                      scope_id: str, key: str, request_hash: str) -> None:
        """Answer once the effect (if any) is committed: `fresh` sends what the handler
        sent, `replay` the stored response; `store_error` first stores a refusal (without
        an effect) for the key, unless a request that ran meanwhile stored its answer
        first (`lost_race`), which is then the answer."""
        if outcome == "store_error":
            try:
                async with db.transaction():
                    if not await keys.store(scope_id, key, request_hash, stored):
                        # Lost the race as above: our refusal (say insufficient_funds, because
                        # the first request took the money) is not the answer; the first one's is.
                        outcome = "lost_race"
            except Exception as exc:  # the response is still right; only its memory failed
                await answer(scope, send, to_api_error(exc))
                return
        if outcome == "lost_race":
            row = await db.fetchrow(keys.STORED_SQL, scope_id, key)
            if row is None:  # it expired in between (a day later): the client may simply retry
                raise IdempotencyKeyInUse()
            stored = _replay_for(scope, key, row, request_hash)
            outcome = "replay"
        _use(scope, key, "replayed" if outcome == "replay" else "first")
        if outcome == "replay":
            await send_stored(send, stored, replayed=True)
        else:  # the client sees every header the handler set; only some are kept for replays
            await send_stored(send, StoredResponse(capture.status, capture.headers, stored.body), replayed=False)
