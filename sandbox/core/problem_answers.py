"""From anything raised while serving a request to the problem+json answer the client gets
(`to_api_error`, then `exception_handler` inside Litestar or `answer` outside it), and the
listeners told of every problem answered (coverage counts error codes per merchant)."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Coroutine
from typing import Any

from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotFoundException,
    SerializationException,
    ValidationException,
)
from litestar.response.base import ASGIResponse
from litestar.types import Scope

from sandbox.core.errors import (
    LISTED_MAX,
    ApiError,
    FieldError,
    MalformedJson,
    MethodNotAllowed,
    NotFound,
    OtherHttpError,
    PayloadTooLarge,
    RateLimited,
    Unauthenticated,
    Unavailable,
    UnsupportedMediaType,
    ValidationFailed,
    render,
)
from sandbox.core.types import in_words

log = logging.getLogger("sandbox.errors")

_AT_PATH = re.compile(r"^(?P<message>.*?) - at `\$(?P<path>[^`]*)`$")
_UNKNOWN = re.compile(r"unknown field `(?P<name>[^`]+)`")
_MISSING = re.compile(r"missing required field `(?P<name>[^`]+)`")


def _field_error(item: dict) -> FieldError:
    """msgspec says where in the body a problem is ("... - at `$.destination.iban`");
    turn that into a field path the client can act on."""
    message = str(item.get("message", "is not valid"))
    key = str(item.get("key") or "")
    path = ""
    at = _AT_PATH.match(message)
    if at:
        message, path = at["message"], at["path"].lstrip(".")
    elif item.get("source") == "body" and key not in ("", "data"):
        path = key  # Litestar cut the "- at `$.x`" suffix off and kept the path as the key
    # Name the field itself, not the object that holds it: `destination.colour`, `amount`.
    for pattern, text in ((_UNKNOWN, "is not a known field"), (_MISSING, "is required")):
        named = pattern.search(message)
        if named:
            path = f"{path}.{named['name']}" if path else named["name"]
            message = text
    if not path and item.get("source") == "body":
        if key == "data" and message == "'data'":
            return FieldError(field="body", message="a JSON body is required")
        path = "body" if key == "data" else key
    return FieldError(field=path or key or "body", message=message)


def _validation_errors(exc: ValidationException) -> list[FieldError]:
    items = exc.extra if isinstance(exc.extra, list) else []
    found = [_field_error(item) for item in items if isinstance(item, dict)]
    return [FieldError(field=e.field, message=in_words(e.message)) for e in found]


def is_unavailable(exc: BaseException) -> bool:
    """The database or Redis is down or the connection was lost: not the request's fault
    nor our logic's (an API request answers 503; a job leaves its work for a retry)."""
    import asyncpg
    import redis.exceptions

    return isinstance(
        exc,
        (
            ConnectionError,
            OSError,
            asyncpg.exceptions.CannotConnectNowError,
            asyncpg.exceptions.PostgresConnectionError,  # class 08, ConnectionDoesNotExistError among them
            asyncpg.exceptions.InterfaceError,
            asyncpg.exceptions.AdminShutdownError,
            asyncpg.exceptions.CrashShutdownError,
            asyncpg.exceptions.TooManyConnectionsError,
            # A pooled connection that got the server's FATAL "terminating connection" while
            # idle is stuck mid-error until its socket's close is read; using it in between
            # raises "cannot switch to state …; another operation (2) is in progress" (seen
            # in the PostgreSQL restart fault test). The connection is gone, not our logic.
            asyncpg.exceptions._base.InternalClientError,
            redis.exceptions.ConnectionError,
            redis.exceptions.TimeoutError,
        ),
    )


def to_api_error(exc: BaseException) -> ApiError:
    """Map anything raised while serving a request to one of our errors."""
    if isinstance(exc, ApiError):
        return exc
    from sandbox.core.money import AmountError

    if isinstance(exc, AmountError):
        return ValidationFailed.field("amount", str(exc))
    if isinstance(exc, ValidationException):
        detail = str(exc.detail or "")
        errors = _validation_errors(exc)
        message = "; ".join(f"{e.field}: {e.message}" for e in errors[:LISTED_MAX]) or detail
        if len(errors) > LISTED_MAX:
            message += f"; and {len(errors) - LISTED_MAX} more"
        return ValidationFailed(message, errors=errors)
    if isinstance(exc, NotFoundException):
        return NotFound("No such route or object")
    if isinstance(exc, MethodNotAllowedException):
        return MethodNotAllowed(headers=dict(exc.headers or {}))
    if isinstance(exc, HTTPException):
        if isinstance(exc.__cause__, SerializationException):
            return MalformedJson(f"The body could not be decoded: {exc.detail}")
        if exc.status_code == 413:
            return PayloadTooLarge()
        if exc.status_code == 415:
            return UnsupportedMediaType()
        if exc.status_code == 400:
            return ValidationFailed(str(exc.detail))
        if exc.status_code == 401:
            return Unauthenticated(str(exc.detail))
        if exc.status_code == 429:
            return RateLimited(headers=dict(exc.headers or {}))
        if exc.status_code == 503:
            return Unavailable(str(exc.detail))
        generic = OtherHttpError(str(exc.detail))
        generic.status = exc.status_code
        generic.title = str(exc.detail)
        return generic
    if is_unavailable(exc):
        return Unavailable()
    log.exception("unhandled error", exc_info=exc)
    return ApiError("The sandbox hit an unexpected error; the request id helps find it in the logs")


# Told of every problem response with the request's ASGI scope (coverage counts error codes
# per merchant). Domains register here; core imports none. A listener runs as a task of its
# own, detached from the request: the request may still hold a pooled connection inside the
# idempotency middleware's transaction, and a listener that waited for a second one inside
# the request would let a burst of refusals take every connection and wait on itself.
ProblemListener = Callable[[dict, ApiError], Coroutine[Any, Any, None]]  # create_task takes coroutines
_problem_listeners: list[ProblemListener] = []
_listening: set[asyncio.Task] = set()  # strong references until each task ends
_PROBLEM = "sandbox_problem"  # the scope state key of the problem a request was answered with


def on_problem(listener: ProblemListener) -> None:
    if listener not in _problem_listeners:  # one app per process, but tests build several
        _problem_listeners.append(listener)


async def problems_heard(timeout: float = 2.0) -> None:
    """Wait (up to `timeout`) for this process's listeners to finish with the problems
    already answered: a reader of what they record sees its own requests' refusals."""
    if _listening:
        await asyncio.wait(list(_listening), timeout=timeout)


def exception_handler(request: Request, exc: Exception) -> Response[bytes]:
    from sandbox.core.ids import ensure_request_id

    error = to_api_error(exc)
    # The listeners hear of the problem the client finally gets, once, when the request
    # is done (`tell_listeners`, from the observing wrapper): a request may be answered
    # by a handler run that is then thrown away (the idempotency middleware runs a refused
    # one-call request again the ordinary way).
    request.scope.setdefault("state", {})[_PROBLEM] = error
    return render(error, ensure_request_id(request.scope))


async def answer(scope: Scope, send, error: ApiError) -> None:
    """Answer `error` from outside Litestar's exception handling (before routing, or after
    a handler's answer was captured), as `exception_handler` would: the same problem body,
    and the listeners hear of it."""
    from sandbox.core.ids import ensure_request_id

    scope.setdefault("state", {})[_PROBLEM] = error
    response = render(error, ensure_request_id(scope))
    await ASGIResponse(body=response.content, status_code=response.status_code, media_type=response.media_type,
                       headers=response.headers)(scope, None, send)  # type: ignore[arg-type]


def tell_listeners(scope: dict) -> None:
    """After a request: each registered listener gets the problem it was answered with, if any."""
    error = (scope.get("state") or {}).get(_PROBLEM)
    if error is None:
        return
    for listener in _problem_listeners:
        task = asyncio.get_running_loop().create_task(listener(scope, error))
        _listening.add(task)
        task.add_done_callback(_listening.discard)
