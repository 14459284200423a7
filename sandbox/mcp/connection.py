"""The sandbox the server talks to, and whose key each call carries.

Started with a merchant's key, the server acts as that merchant and nothing else.
Started with the admin key, it makes fresh merchants (`new_merchant`) and acts for the
one a call names by its handle, or its session's latest (sandbox/mcp/merchants.py);
the admin key itself is never used for anything else."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections import OrderedDict
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError

from sandbox.client import answers
from sandbox.mcp.advice import after_refusal
from sandbox.mcp.merchants import IDLE_S, Client, Merchant, Registry, TooMany

T = TypeVar("T")
_SESSION = "mypay-sandbox.client"  # where a handshake session's Client lives in its connection's state
MOST_BODIES = 10_000  # bodies computed for a key (advance_clock one_step), kept for its retry
IDENTITY = "mypay-sandbox.identity"  # where the HTTP layer puts who sent a request, in its ASGI scope


@dataclass
class CallState:
    """What one tool call did, for its error's words: whether a mutating request was sent
    whose answer was not read (it may have been applied), and the key it carried."""

    idempotency_key: str | None = None
    maybe_applied: bool = False
    handles: list[str] = field(default_factory=list)  # the handles it acts for: busy until it is answered


CALL: ContextVar[CallState | None] = ContextVar("mcp_call", default=None)


class Sandbox:
    def __init__(self, url: str, *, key: str | None = None, admin_key: str | None = None,
                 transport: str = "stdio", token: str | None = None, deadline_s: float,
                 idle_s: float = IDLE_S) -> None:
        if (key is None) == (admin_key is None):
            raise ValueError("a merchant's key or the admin key, not both")
        self.url = url.rstrip("/")
        self.admin_key = admin_key
        self.transport = transport  # "stdio" or "http": the server's, never a client's say
        self.token = token  # --http: the bearer token every request carried (checked before any tool runs)
        self.deadline_s = deadline_s  # one tool call, every request it makes included (--tool-timeout)
        self.fixed = Merchant(key) if key is not None else None
        self.merchants = Registry(idle_s=idle_s)
        self._process = Client("this process", session=True)  # stdio: the process is the session
        self._sessionless: dict[str, Client] = {}  # each client's session-less calls, by who it is
        self._salt = secrets.token_bytes(16)  # keys scoped per client differ from any other server's
        self._bodies: OrderedDict[tuple[str, str], Any] = OrderedDict()  # (merchant key, idempotency key) -> body

    @property
    def mode(self) -> str:
        return "admin" if self.admin_key is not None else "merchant"

    def says_who(self) -> str:
        if self.admin_key is None:
            return ("acts as the one merchant whose key it was started with; it cannot make merchants or see "
                    "another merchant's data")
        return ("started with the admin key: new_merchant makes a fresh merchant and answers its handle (mh_…); "
                "every other tool acts for the merchant named by its `merchant` argument, or, in a session "
                "(stdio, or HTTP with the initialize handshake), this session's latest one. The admin key is "
                "used for nothing else")

    # --- whose key ----------------------------------------------------------------------

    def client(self, ctx: Context) -> Client:
        """Who is calling: the process on stdio; over HTTP the SDK's own session object
        for a handshake session (its Connection, which lives exactly as long as the
        session), else the client's session-less calls, one for each client as
        sandbox/mcp/fairness/peers.py names it (never by a header it sends)."""
        if self.transport == "stdio":
            return self._process
        request = ctx.request_context
        scope = getattr(request.request, "scope", None) or {}
        identity = scope.get(IDENTITY) or "an unknown client"
        # The SDK keeps the per-session Connection on the request's ServerSession; 2.3 has no
        # public accessor for it. A handshake session's connection has a session id; a
        # session-less (2026-07-28) call gets a fresh connection without one.
        connection = getattr(request.session, "_connection", None)
        if connection is not None and connection.session_id is not None:
            found = connection.state.get(_SESSION)
            if found is None:
                found = connection.state[_SESSION] = Client("this session", session=True, identity=identity)
                connection.exit_stack.callback(self.merchants.end, found)  # leaves with its session
            return found
        found = self._sessionless.get(identity)
        if found is None:
            if len(self._sessionless) > self.merchants.most_held:  # clients come and go: keep those holding any
                self._sessionless = {who: c for who, c in self._sessionless.items() if c.handles}
            found = self._sessionless[identity] = Client("session-less calls", session=False, identity=identity)
        return found

    def merchant(self, ctx: Context, handle: str | None) -> Merchant | None:
        if self.fixed is not None:
            if handle is not None:
                raise ToolError("this server acts as the one merchant whose key it was started with: leave "
                                "`merchant` out")
            return self.fixed
        client = self.client(ctx)
        if handle is not None:
            found = self.merchants.find(client, handle)
            state = CALL.get()
            if found is not None and state is not None:  # idle time stops while this call waits (sealed.py)
                self.merchants.busy(handle)
                state.handles.append(handle)
            if found is None:
                raise ToolError("no merchant of yours has that handle here: a handle works only where new_merchant "
                                "answered it (its session, or session-less calls) and is forgotten when its "
                                "session ends, after a while unused, or by forget_merchant; call new_merchant for "
                                "another")
            return found
        if not client.session:
            return None
        return self.merchants.latest(client)

    def acting(self, ctx: Context, handle: str | None) -> Merchant:
        merchant = self.merchant(ctx, handle)
        if merchant is None:
            if self.transport == "http" and not self.client(ctx).session:
                raise ToolError("this call has no session (the 2026-07-28 protocol): pass merchant=<the handle "
                                "new_merchant answered>, or call new_merchant first to get one")
            raise ToolError("no merchant yet in this session: call new_merchant first (clock \"manual\" to move "
                            "time yourself)")
        return merchant

    def remember(self, ctx: Context, merchant: Merchant) -> str:
        client = self.client(ctx)
        for handle in client.handles:  # the same merchant again (a retried new_merchant): its handle
            known = self.merchants.find(client, handle)
            if known is not None and known.id == merchant.id:
                return handle
        try:
            return self.merchants.add(client, merchant)
        except TooMany as exc:
            raise ToolError(str(exc)) from None

    # --- keys -----------------------------------------------------------------------------

    def scoped_key(self, ctx: Context, key: str) -> str:
        """The admin key's idempotency key for `key` given by this client: every client's
        new_merchant calls share the admin key's namespace, so a key is made this client's
        own (and this server's): no other client can replay it and receive its merchant."""
        who = self.client(ctx).identity if self.transport == "http" else "stdio"
        digest = hashlib.sha256(self._salt + who.encode() + b"\0" + key.encode()).hexdigest()
        return f"mcp_{digest[:48]}"

    def kept_body(self, merchant: Merchant, key: str) -> Any:
        """The body this merchant's call first sent with `key`, if computed and kept
        (`keep_body`): a retry must send the same one."""
        return self._bodies.get((merchant.key, key))

    def keep_body(self, merchant: Merchant, key: str, body: Any) -> None:
        self._bodies[(merchant.key, key)] = body
        while len(self._bodies) > MOST_BODIES:  # the oldest go first
            self._bodies.popitem(last=False)

    # --- calls ----------------------------------------------------------------------------

    async def call(self, key: str, method: str, path: str, *, into: type[T], status: int = 200,
                   json: Any = None, params: dict[str, Any] | None = None, idempotency_key: str | None = None) -> T:
        """The API's answer to one request, read through the spec's type `into`; any
        refusal or failure is a ToolError in the API's words (the agent reads it). A
        mutating request carries `idempotency_key`; while its answer is unread the call
        is marked as maybe applied, so the tool's error (sandbox/mcp/sealed.py) names the
        key to ask again with, and says nothing of the kind when nothing was sent."""
        query = {k: v for k, v in (params or {}).items() if v is not None}
        if query:
            path = f"{path}?{httpx.QueryParams(query)}"
        mutating = method in ("POST", "PATCH", "DELETE")
        state = CALL.get()
        headers = None
        if mutating:
            idempotency_key = idempotency_key or (state.idempotency_key if state else None) or uuid.uuid4().hex
            headers = {"X-Idempotency-Key": idempotency_key}
            if state is not None:
                # The key the agent gave (or was given) stays the one its error names: a tool may
                # send a key derived from it (new_merchant's, scoped to its client).
                state.idempotency_key = state.idempotency_key or idempotency_key
                state.maybe_applied = True
        try:
            async with answers.client(self.url, key) as http:
                answer = await answers.fetch(http, method, path, json=json, headers=headers)
        except answers.NotConnected as exc:
            if state is not None and mutating:
                state.maybe_applied = False  # no connection: nothing was sent
            raise ToolError(f"{exc}: nothing was sent") from None
        except (answers.NotTheApi, answers.Unreachable) as exc:
            raise ToolError(str(exc)) from None
        if state is not None and mutating:
            # An answer read: applied or not, the API said which, except a server error,
            # which may come after the effect (the sandbox's own error_after_commit fault).
            state.maybe_applied = answer.status >= 500 and answer.status != 503
        try:
            return answers.decoded(answer, status, into)
        except answers.Refused as exc:
            advice = after_refusal(path, exc.status, exc.problem.code)
            raise ToolError(f"{exc}. What to do: {advice}" if advice else str(exc)) from None
        except answers.NotTheApi as exc:
            raise ToolError(str(exc)) from None

    async def as_merchant(self, ctx: Context, handle: str | None, method: str, path: str, *, into: type[T],
                          status: int = 200, json: Any = None, params: dict[str, Any] | None = None,
                          idempotency_key: str | None = None) -> T:
        return await self.call(self.acting(ctx, handle).key, method, path, into=into, status=status, json=json,
                               params=params, idempotency_key=idempotency_key)
