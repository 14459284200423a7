"""The sandbox the server talks to, and whose key each call carries.

Started with a merchant's key, the server acts as that merchant and nothing else.
Started with the admin key, it makes fresh merchants (`new_merchant`) and acts as the
latest one of each MCP session: a shared server (streamable HTTP) gives every agent a
merchant of its own, and the admin key itself is never used for anything else."""

from __future__ import annotations

import uuid
from collections import OrderedDict
from typing import Any, TypeVar

import httpx
import msgspec
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError

from sandbox.client import answers

T = TypeVar("T")
DEADLINE_S = 90.0  # the receiver audit's own bound is about 30 s against a receiver that hangs
MOST_SESSIONS = 1000  # merchants remembered for HTTP sessions; the oldest is forgotten first
STDIO = "stdio"


class Merchant(msgspec.Struct):
    key: str
    id: str | None = None  # known when this server made it
    clock: str | None = None


class Sandbox:
    def __init__(self, url: str, *, key: str | None = None, admin_key: str | None = None) -> None:
        if (key is None) == (admin_key is None):
            raise ValueError("a merchant's key or the admin key, not both")
        self.url = url.rstrip("/")
        self.admin_key = admin_key
        self._fixed = Merchant(key) if key is not None else None
        self._made: OrderedDict[str, Merchant] = OrderedDict()

    @property
    def mode(self) -> str:
        return "admin" if self.admin_key is not None else "merchant"

    def says_who(self) -> str:
        if self.admin_key is None:
            return ("acts as the one merchant whose key it was started with; it cannot make merchants or see "
                    "another merchant's data")
        return ("started with the admin key: new_merchant makes a fresh merchant for this session and every "
                "other tool acts as it; the admin key is used for nothing else")

    # --- whose key ----------------------------------------------------------------------

    @staticmethod
    def session_of(ctx: Context | None) -> str:
        """The MCP session a call belongs to: HTTP clients each have their own id."""
        headers = ctx.headers if ctx is not None else None
        return (headers or {}).get("mcp-session-id") or STDIO

    def merchant(self, ctx: Context | None) -> Merchant | None:
        return self._fixed or self._made.get(self.session_of(ctx))

    def acting(self, ctx: Context | None) -> Merchant:
        merchant = self.merchant(ctx)
        if merchant is None:
            raise ToolError("no merchant yet in this session: call new_merchant first (clock \"manual\" to move "
                            "time yourself)")
        return merchant

    def remember(self, ctx: Context | None, merchant: Merchant) -> None:
        session = self.session_of(ctx)
        self._made[session] = merchant
        self._made.move_to_end(session)
        while len(self._made) > MOST_SESSIONS:
            self._made.popitem(last=False)

    # --- calls ----------------------------------------------------------------------------

    async def call(self, key: str, method: str, path: str, *, into: type[T], status: int = 200,
                   json: Any = None, params: dict[str, Any] | None = None, idempotency_key: str | None = None) -> T:
        """The API's answer to one request, read through the spec's type `into`; any
        refusal or failure is a ToolError in the API's words (the agent reads it). A
        mutating request carries `idempotency_key` (a fresh one unless given): when its
        answer is lost, the error names the key, so the agent asks again with it and gets
        the stored answer instead of doing the thing twice."""
        query = {k: v for k, v in (params or {}).items() if v is not None}
        if query:
            path = f"{path}?{httpx.QueryParams(query)}"
        mutating = method in ("POST", "PATCH", "DELETE")
        idempotency_key = idempotency_key or uuid.uuid4().hex
        headers = {"X-Idempotency-Key": idempotency_key} if mutating else None
        try:
            async with answers.client(self.url, key) as http:
                answer = await answers.within(DEADLINE_S, answers.fetch(http, method, path, json=json,
                                                                        headers=headers), self.url)
            return answers.decoded(answer, status, into)
        except answers.Refused as exc:
            raise ToolError(str(exc)) from None
        except (answers.NotTheApi, answers.Unreachable) as exc:
            again = (f"; it may have been done: call again with idempotency_key={idempotency_key} to get its answer "
                     "rather than doing it twice") if mutating else ""
            raise ToolError(f"{exc}{again}") from None

    async def as_merchant(self, ctx: Context | None, method: str, path: str, *, into: type[T], status: int = 200,
                          json: Any = None, params: dict[str, Any] | None = None,
                          idempotency_key: str | None = None) -> T:
        return await self.call(self.acting(ctx).key, method, path, into=into, status=status, json=json,
                               params=params, idempotency_key=idempotency_key)
