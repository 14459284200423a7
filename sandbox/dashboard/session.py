"""The dashboard's session: one cookie, encrypted and authenticated (AES-GCM) with a key
derived from the server secret, HttpOnly, SameSite=Strict, scoped to /dashboard.

It holds the API key the user signed in with (never put in a URL, a page or local
storage), a random nonce that the CSRF token is derived from, and one-shot flash
messages. Every form carries the CSRF token; a POST without the right one is refused.

Each sign-in gets a session id; signing out records it as revoked in PostgreSQL
(`dashboard_session_revoked`), so a copy of the cookie taken before stops working at
once rather than at the cookie's 12-hour end."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from sandbox import db
from sandbox.auth.server_secret import derived

COOKIE = "mypay_dashboard"
COOKIE_PATH = "/dashboard"
CSRF_FIELD = "_csrf"
SIGNED_IN_FOR_S = 12 * 3600
_AAD = b"mypay-dashboard-session-v1"
_STATE_KEY = "dashboard_session"


class NewEndpoint(msgspec.Struct):
    """A webhook endpoint just added, with the secret (or public key) shown only once."""

    id: str
    secret: str | None
    public_key: str | None


class SessionData(msgspec.Struct, omit_defaults=True):
    nonce: str
    key: str | None = None
    sid: str | None = None  # the sign-in's id, what signing out revokes
    signed_in_at: int | None = None
    flash: list[tuple[str, str]] = []
    new_endpoint: NewEndpoint | None = None


def encode(data: SessionData) -> str:
    iv = secrets.token_bytes(12)
    sealed = AESGCM(derived(b"cookie")).encrypt(iv, msgspec.json.encode(data), _AAD)
    return base64.urlsafe_b64encode(iv + sealed).decode().rstrip("=")


def decode(value: str | None) -> SessionData | None:
    """The session in a cookie, or None when it is missing, forged or tampered with."""
    if not value or len(value) > 4096:
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        data = msgspec.json.decode(AESGCM(derived(b"cookie")).decrypt(raw[:12], raw[12:], _AAD), type=SessionData)
    except (ValueError, InvalidTag, msgspec.DecodeError):
        return None
    return data


class Session:
    """The current request's session; changes are written back in the response's cookie."""

    def __init__(self, data: SessionData | None) -> None:
        # Written back only when something changed (a new session included): a request that
        # only reads, like a live region's poll, must not put back a flash another took.
        self.changed = data is None
        self.refused = False  # an error was reported on this request (see `flash`)
        self.data = data or SessionData(nonce=secrets.token_urlsafe(16))
        if self.data.key and (self.data.signed_in_at or 0) + SIGNED_IN_FOR_S < time.time():
            self.sign_out()
            self.flash("error", "Your session ended after 12 hours; sign in again")

    @property
    def key(self) -> str | None:
        return self.data.key

    def sign_in(self, key: str) -> None:
        # A new nonce: a token seen before signing in is worthless afterwards.
        self.data = SessionData(nonce=secrets.token_urlsafe(16), key=key, sid=secrets.token_urlsafe(18),
                                signed_in_at=int(time.time()))
        self.changed = True

    def sign_out(self) -> None:
        self.data = SessionData(nonce=secrets.token_urlsafe(16), flash=self.data.flash)
        self.changed = True

    async def end(self) -> None:
        """Sign out for good: this sign-in's cookie, and every copy of it, stops working."""
        if self.data.sid is not None:
            await revoke(self.data.sid, (self.data.signed_in_at or 0) + SIGNED_IN_FOR_S)
        self.sign_out()

    async def revoked(self) -> bool:
        """Signed in with a session that was ended (or from before sessions had ids)."""
        return self.data.sid is None or await is_revoked(self.data.sid)

    def flash(self, kind: str, text: str) -> None:
        self.data.flash = [*self.data.flash, (kind, text)][-5:]
        self.changed = True
        if kind == "error":  # the form did not act: its transaction must not commit
            self.refused = True

    def flash_secret(self, endpoint: NewEndpoint) -> None:
        self.data.new_endpoint = endpoint
        self.changed = True

    def take_secret(self) -> NewEndpoint | None:
        """The endpoint just added, once: the next page shows its secret, later ones do not."""
        shown, self.data.new_endpoint = self.data.new_endpoint, None
        if shown:
            self.changed = True
        return shown

    def take_flash(self) -> list[tuple[str, str]]:
        shown, self.data.flash = self.data.flash, []
        if shown:
            self.changed = True
        return shown

    def csrf_token(self) -> str:
        return hmac.new(derived(b"csrf"), self.data.nonce.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(token.encode(), self.csrf_token().encode())


async def revoke(sid: str, until: int) -> None:
    async with db.transaction():
        await db.execute("DELETE FROM dashboard_session_revoked WHERE expires_at < now()")
        await db.execute("INSERT INTO dashboard_session_revoked (id, expires_at) VALUES ($1, to_timestamp($2))"
                         " ON CONFLICT (id) DO NOTHING", sid, until)


async def is_revoked(sid: str) -> bool:
    return await db.fetchval("SELECT EXISTS (SELECT 1 FROM dashboard_session_revoked WHERE id = $1)", sid)


def of(connection: ASGIConnection) -> Session:
    return connection.scope["state"][_STATE_KEY]


def refused(scope: Scope) -> bool:
    """Whether this request's form was refused (an error flashed), for the idempotency
    middleware: a refused form rolls back and does not use up its key."""
    return scope["state"][_STATE_KEY].refused


class SessionMiddleware(ASGIMiddleware):
    """Reads the cookie into a `Session` before the handler, writes it back if it changed."""

    scopes = ("http",)  # type: ignore[assignment]

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        session = Session(decode(ASGIConnection(scope).cookies.get(COOKIE)))
        scope.setdefault("state", {})[_STATE_KEY] = session

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start" and session.changed:
                cookie = Cookie(key=COOKIE, value=encode(session.data), path=COOKIE_PATH, httponly=True,
                                samesite="strict", secure=scope.get("scheme") == "https")
                MutableScopeHeaders.from_message(message).add("set-cookie", cookie.to_header(header=""))
            await send(message)

        await next_app(scope, receive, send_with_cookie)
