"""The dashboard's plumbing: who is signed in (from the session's key), the CSRF guard,
rendering pages and live fragments, and every failure as a readable page."""

from __future__ import annotations

import secrets
from typing import Any

from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.enums import MediaType, ScopeType
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import ASGIMiddleware
from litestar.response import Template
from litestar.types import ASGIApp, Receive, Scope, Send

from sandbox.auth.keys import authenticate
from sandbox.core.errors import ApiError, Forbidden, Unauthenticated
from sandbox.core.ids import ensure_request_id
from sandbox.core.problem_answers import to_api_error
from sandbox.dashboard import queries
from sandbox.dashboard import session as sessions
from sandbox.dashboard.views import Viewer
from sandbox.retention import activity

HOME, LOGIN = "/dashboard", "/dashboard/login"
# Every rendered form carries a fresh idempotency key in this field (`form_key()` in the
# templates): sending the same form twice, by a double click or a reload, acts once.
IDEMPOTENCY_FIELD = "_idem"


def new_form_key() -> str:
    return "form_" + secrets.token_urlsafe(16)

Me = NamedDependency[Viewer]  # the signed-in key's merchant or admin, from `provide_viewer`


LIVE_HEADER = "x-dashboard-live"  # sent by dashboard.js's refreshes of live regions
SIGN_IN_HEADER = "X-Dashboard-Sign-In"  # a refresh's answer when the session has ended: go there
KEY_STOPPED = ("Your API key stopped working (revoked, or rolled and past its overlap), so you were signed out; "
               "sign in again with a working key")


class SignInRequired(Exception):
    """No session, or its key stopped working: go to the sign-in page."""


class CsrfFailed(ApiError):
    status, code, title = 403, "csrf_failed", "The form has expired"


class SignedInMiddleware(ASGIMiddleware):
    """Who the session's key belongs to, as `principal` in the scope's state, like the
    API's key middleware: so the same rate limit and idempotency middleware run after it.
    A session that was signed out (even a copy of its cookie) or whose key stopped
    working is ended here, and the page then asks to sign in."""

    scopes = ("http",)  # type: ignore[assignment]

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        session = sessions.of(ASGIConnection(scope))
        if session.key:
            if await session.revoked():
                session.sign_out()
                session.flash("error", "This session was signed out; sign in again")
            else:
                try:
                    scope["state"]["principal"] = principal = await authenticate(session.key)
                    if principal.merchant_id is not None:  # retention's idle clock
                        await activity.seen(principal.merchant_id)
                except Unauthenticated:
                    session.sign_out()  # the key worked when it signed in: it was revoked since
                    session.flash("error", KEY_STOPPED)
        await next_app(scope, receive, send)


async def provide_viewer(request: Request) -> Viewer:
    principal = request.scope["state"].get("principal")
    if principal is None:
        raise SignInRequired
    if principal.role == "admin":
        return Viewer(principal, "Admin" if principal.operator else f"Admin of team {principal.team_id}")
    return Viewer(principal, await queries.merchant_name(principal.merchant_id) or principal.merchant_id)


async def check_csrf(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    if connection.scope["type"] == ScopeType.HTTP and connection.scope["method"] in ("GET", "HEAD", "OPTIONS"):
        return
    form = await Request(connection.scope, connection.receive).form()
    if not sessions.of(connection).csrf_ok(form.get(sessions.CSRF_FIELD)):
        raise CsrfFailed("The form's security token does not match your session (it may have been open"
                         " from before you signed in or out). Go back, reload the page and try again.")


def _context(request: Request, viewer: Viewer | None, *, flash: bool = True, **extra: Any) -> dict[str, Any]:
    session = sessions.of(request)
    return {"viewer": viewer, "csrf": session.csrf_token(), "csrf_field": sessions.CSRF_FIELD,
            "idem_field": IDEMPOTENCY_FIELD, "form_key": new_form_key,
            "flash": session.take_flash() if flash else [], "path": request.url.path, **extra}


def page(request: Request, name: str, viewer: Viewer | None, status: int = 200, **extra: Any) -> Template:
    return Template(template_name=name, context=_context(request, viewer, **extra), status_code=status)


def fragment(request: Request, name: str, viewer: Viewer, **extra: Any) -> Template:
    """A live region's content, polled by dashboard.js; it leaves flash messages alone."""
    return Template(template_name=name, context=_context(request, viewer, flash=False, **extra))


def error_page(request: Request, exc: Exception) -> Response:
    """Every failure as a readable page (never a stack trace); sign-in problems redirect."""
    if isinstance(exc, SignInRequired):
        if request.headers.get(LIVE_HEADER):
            # A live region's refresh (dashboard.js): no page renders the flash that says why,
            # so it stays in the session for the sign-in page the script goes to.
            return Response(content=b"", status_code=401, headers={SIGN_IN_HEADER: LOGIN})
        return Response(content=b"", status_code=303, headers={"Location": LOGIN})
    error = to_api_error(exc)  # logs anything unexpected, with its traceback, server-side
    session = sessions.of(request)
    templates = request.app.template_engine
    assert templates is not None  # the app that mounts the dashboard is built with its templates
    html = templates.get_template("error.html").render(
        error=error, request_id=ensure_request_id(request.scope), signed_in=bool(session.key),
        csrf=session.csrf_token(), csrf_field=sessions.CSRF_FIELD, idem_field=IDEMPOTENCY_FIELD,
        form_key=new_form_key, viewer=None, flash=[], path=request.url.path)
    headers = {k: v for k, v in error.headers.items() if k.lower() in ("allow", "retry-after")}
    return Response(content=html, status_code=error.status, media_type=MediaType.HTML, headers=headers)


def merchant_only(viewer: Viewer) -> str:
    if viewer.is_admin or viewer.merchant_id is None:  # only admin keys have no merchant
        raise Forbidden("Admins review payouts but do not make them; sign in with a merchant key for this page")
    return viewer.merchant_id


def admin_only(viewer: Viewer) -> None:
    if not viewer.is_admin:
        raise Forbidden("This page is for admins; sign in with the admin key to see it")
