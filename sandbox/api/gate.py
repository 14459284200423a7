"""The one ASGI layer every authenticated /api/v1 request passes, after routing:

1. the API key authenticates the request (auth/keys.py), every method, OPTIONS included,
   and a merchant's key marks it active (retention/activity.py);
2. the request log begins the merchant's entry and applies its fault, if any
   (requests/journal.py; a fault before anything answers here, before the rate limit
   counts the request);
3. the key's rate limit counts it (ratelimits/limiter.py; a refused request takes no
   idempotency key), and its RateLimit headers go on the answer; the key's role must be
   the one the route's `opt` names (auth/keys.py `wrong_role`);
4. a mutating request claims its idempotency key (idempotency/claims.py).

Each rule stays in its own module; this layer only runs them in that order. One layer
rather than three because each ASGI layer costs every request a coroutine, a send
wrapper and Litestar's bypass checks (figures in the commit that merged them).

For a merchant's request this layer answers the errors raised past it itself, through
the send the request log captures, so the log records every answer (Litestar's own
handling would render the same problem outside it, unseen)."""

from __future__ import annotations

from functools import partial

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

from sandbox.auth.keys import API_KEY_HEADER, authenticate, wrong_role
from sandbox.core import problem_answers
from sandbox.idempotency.claims import MUTATING, IdempotencyMiddleware
from sandbox.observability import logs
from sandbox.ratelimits.limiter import RateLimitMiddleware, with_headers
from sandbox.requests.entry import Entry
from sandbox.requests.journal import JOURNAL
from sandbox.retention import activity

_KEY_HEADER = API_KEY_HEADER.encode()


def _api_key(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == _KEY_HEADER:  # ASGI servers give header names in lower case
            return value.decode("latin-1")
    return None


class Gate:
    """Wrapped around each authenticated route by Litestar (`DefineMiddleware(Gate, ...)`)."""

    __slots__ = ("app", "idempotency", "rate_limiter")

    def __init__(self, app: ASGIApp, rate_limiter: RateLimitMiddleware, idempotency: IdempotencyMiddleware) -> None:
        self.app = app
        self.rate_limiter = rate_limiter
        self.idempotency = idempotency

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        principal = await authenticate(_api_key(scope))
        if principal.merchant_id is not None:  # retention's idle clock (a dict lookup, mostly)
            await activity.seen(principal.merchant_id)
        scope["state"]["principal"] = principal
        scope["user"], scope["auth"] = principal, principal.key_id
        # Every log line of this request names the merchant (never the key), and the payout
        # its path names (known here: this layer runs after routing).
        payout_id = scope["path_params"].get("payout_id")
        logs.bind(merchant_id=principal.merchant_id, **({"payout_id": payout_id} if payout_id else {}))
        entry = await JOURNAL.begin(scope, principal)
        if entry is None:  # an admin key: not a merchant's request
            await self._pass(scope, receive, send, principal)
            return
        # A mutating request's entry is written before its answer leaves (the journal's reason).
        mutating = entry.method in MUTATING
        send = entry.capture(send, partial(JOURNAL.write_before_answer, scope, entry) if mutating else None)
        try:
            await JOURNAL.before(scope, entry, principal)
            await self._pass(scope, receive, send, principal, entry)
        except Exception as exc:
            if entry.status:  # the answer had begun: nothing more can be said
                raise
            # Counted by the rate limit by then (a refusal after the count): its headers too.
            answer_send = with_headers(send, entry.rate_headers) if entry.rate_headers else send
            await problem_answers.answer(scope, answer_send, problem_answers.to_api_error(exc))
        finally:
            JOURNAL.done(scope, entry)

    async def _pass(self, scope: Scope, receive: Receive, send: Send, principal, entry: Entry | None = None) -> None:
        rate_headers = await self.rate_limiter.count(principal)
        if rate_headers is not None:
            send = with_headers(send, rate_headers)
            if entry is not None:  # for an answer the entry is told rather than sees (`Entry.answered`)
                entry.rate_headers = rate_headers
        if (refused := wrong_role(principal, scope["route_handler"].opt)) is not None:
            # Answered here, with the RateLimit headers: the key was counted.
            await problem_answers.answer(scope, send, problem_answers.to_api_error(refused))
            return
        if scope["type"] == ScopeType.HTTP and scope["method"] in MUTATING:
            await self.idempotency.handle(scope, receive, send, self.app)
        else:
            await self.app(scope, receive, send)
