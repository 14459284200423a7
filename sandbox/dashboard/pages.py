"""The dashboard's plumbing: who is signed in (from the session's key), the CSRF guard,
rendering pages and live fragments, and every failure as a readable page."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.enums import MediaType
from litestar.handlers.base import BaseRouteHandler
from litestar.response import Template

from sandbox.core.auth import authenticate
from sandbox.core.errors import ApiError, Forbidden, Unauthenticated, to_api_error
from sandbox.core.request_id import ensure_request_id
from sandbox.dashboard import queries
from sandbox.dashboard import session as sessions
from sandbox.dashboard.views import Viewer

HOME, LOGIN = "/dashboard", "/dashboard/login"

Me = NamedDependency[Viewer]  # the signed-in key's merchant or admin, from `provide_viewer`


class SignInRequired(Exception):
    """No session, or its key stopped working: go to the sign-in page."""


class CsrfFailed(ApiError):
    status, code, title = 403, "csrf_failed", "The form has expired"


async def provide_viewer(request: Request) -> Viewer:
    session = sessions.of(request)
    if not session.key:
        raise SignInRequired
    try:
        principal = await authenticate(session.key)
    except Unauthenticated as exc:
        session.sign_out()
        session.flash("error", f"{exc.detail}; sign in again")
        raise SignInRequired from None
    if principal.role == "admin":
        return Viewer(principal, "Admin")
    return Viewer(principal, await queries.merchant_name(principal.merchant_id) or principal.merchant_id)


async def check_csrf(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    if connection.scope["method"] in ("GET", "HEAD", "OPTIONS"):
        return
    form = await Request(connection.scope, connection.receive).form()
    if not sessions.of(connection).csrf_ok(form.get(sessions.CSRF_FIELD)):
        raise CsrfFailed("The form's security token does not match your session (it may have been open"
                         " from before you signed in or out). Go back, reload the page and try again.")


def _context(request: Request, viewer: Viewer | None, *, flash: bool = True, **extra: Any) -> dict[str, Any]:
    session = sessions.of(request)
    return {"viewer": viewer, "csrf": session.csrf_token(), "csrf_field": sessions.CSRF_FIELD,
            "flash": session.take_flash() if flash else [], "path": request.url.path, **extra}


def page(request: Request, name: str, viewer: Viewer | None, status: int = 200, **extra: Any) -> Template:
    return Template(template_name=name, context=_context(request, viewer, **extra), status_code=status)


def fragment(request: Request, name: str, viewer: Viewer, **extra: Any) -> Template:
    """A live region's content, polled by dashboard.js; it leaves flash messages alone."""
    return Template(template_name=name, context=_context(request, viewer, flash=False, **extra))


def error_page(request: Request, exc: Exception) -> Response:
    """Every failure as a readable page (never a stack trace); sign-in problems redirect."""
    if isinstance(exc, SignInRequired):
        return Response(content=b"", status_code=303, headers={"Location": LOGIN})
    error = to_api_error(exc)  # logs anything unexpected, with its traceback, server-side
    session = sessions.of(request)
    html = request.app.template_engine.get_template("error.html").render(
        error=error, request_id=ensure_request_id(request.scope), signed_in=bool(session.key),
        csrf=session.csrf_token(), csrf_field=sessions.CSRF_FIELD, viewer=None, flash=[], path=request.url.path)
    headers = {k: v for k, v in error.headers.items() if k.lower() == "allow"}
    return Response(content=html, status_code=error.status, media_type=MediaType.HTML, headers=headers)


def merchant_only(viewer: Viewer) -> str:
    if viewer.is_admin:
        raise Forbidden("Admins review payouts but do not make them; sign in with a merchant key for this page")
    return viewer.merchant_id


def admin_only(viewer: Viewer) -> None:
    if not viewer.is_admin:
        raise Forbidden("This page is for admins; sign in with the admin key to see it")
