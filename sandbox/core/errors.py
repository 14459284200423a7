"""One error hierarchy, rendered as RFC 9457 problem+json in one place."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Coroutine
from typing import Any

import msgspec
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

from sandbox.core.types import in_words

log = logging.getLogger("sandbox.errors")

PROBLEM_TYPE_BASE = "https://mypay-sandbox.dev/problems/"
PROBLEM_JSON = "application/problem+json"


class FieldError(msgspec.Struct):
    field: str
    message: str


class Problem(msgspec.Struct, omit_defaults=True):
    """The body of every error response."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    request_id: str
    errors: list[FieldError] = msgspec.field(default_factory=list)


# An error may quote the client's input (a field name, a CSV column); the answer must not
# grow with it (a header of thousands of long names once came back in full, twice the size
# of the upload). Every error is cut to these sizes when it is made, so the API's
# problem+json, the dashboard's error page and the logs all get the short form.
DETAIL_MAX = 1000
FIELD_MAX = 100
MESSAGE_MAX = 300
ERRORS_MAX = 20
LISTED_MAX = 5


def clip(text: str, limit: int) -> str:
    """The text, or its first `limit` characters and how many more there were."""
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text) - limit} more characters)"


def listing(names: list[str], limit: int = LISTED_MAX, each: int = 40) -> str:
    """A few of the client's names, each cut short, quoted, then "and N more"."""
    shown = ", ".join(repr(clip(name, each)) for name in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _capped(errors: list[FieldError]) -> list[FieldError]:
    kept = [FieldError(field=clip(e.field, FIELD_MAX), message=clip(e.message, MESSAGE_MAX))
            for e in errors[:ERRORS_MAX]]
    if len(errors) > ERRORS_MAX:
        kept.append(FieldError(field="body", message=f"and {len(errors) - ERRORS_MAX} more errors"))
    return kept


class ApiError(Exception):
    """The classes are the registry of problem codes: each subclass names its own `code`
    (a subclass of one keeps its parent's), and the published spec lists them all as the
    closed set of `Problem.code` (`problem_codes`)."""

    status = 500
    code = "internal_error"
    title = "Internal error"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.detail = clip(detail or self.title, DETAIL_MAX)
        self.errors = _capped(errors or [])
        self.headers = headers or {}
        super().__init__(self.detail)


def problem_codes() -> list[str]:
    """Every code a problem may carry, sorted: ApiError's and those of its subclasses that
    are imported (the app imports every domain, so the spec it publishes sees them all)."""
    codes, todo = set(), [ApiError]
    while todo:
        cls = todo.pop()
        codes.add(cls.code)
        todo.extend(cls.__subclasses__())
    return sorted(codes)


class ValidationFailed(ApiError):
    status, code, title = 400, "validation_error", "The request is not valid"

    @classmethod
    def field(cls, field: str, message: str) -> ValidationFailed:
        return cls(f"{field}: {message}", errors=[FieldError(field=field, message=message)])


class MalformedJson(ApiError):
    status, code, title = 400, "malformed_json", "The body is not valid JSON"


class IdempotencyKeyMissing(ApiError):
    status, code, title = 400, "idempotency_key_missing", "An idempotency key is required"


class Unauthenticated(ApiError):
    status, code, title = 401, "unauthenticated", "Authentication failed"


class Forbidden(ApiError):
    status, code, title = 403, "forbidden", "Not allowed for this key"


class NotFound(ApiError):
    status, code, title = 404, "not_found", "Not found"


class MethodNotAllowed(ApiError):
    status, code, title = 405, "method_not_allowed", "Method not allowed"


class Conflict(ApiError):
    status, code, title = 409, "invalid_state", "The object is not in a state that allows this"


class IdempotencyKeyInUse(ApiError):
    status, code, title = 409, "idempotency_key_in_use", "A request with this idempotency key is still running"


class DuplicateReference(ApiError):
    status, code, title = 409, "duplicate_reference", "The reference is already used"


class PayloadTooLarge(ApiError):
    status, code, title = 413, "payload_too_large", "The request body is too large"


class HeadersTooLarge(ApiError):
    status, code, title = 431, "headers_too_large", "The request's headers are too large"


class UnsupportedMediaType(ApiError):
    status, code, title = 415, "unsupported_media_type", "Send the body as application/json"


class IdempotencyKeyReused(ApiError):
    status, code, title = 422, "idempotency_key_reused", "The idempotency key was used for a different request"


class InsufficientFunds(ApiError):
    status, code, title = 422, "insufficient_funds", "The available balance is too low"


class RateLimited(ApiError):
    status, code, title = 429, "rate_limited", "Too many requests"


class OtherHttpError(ApiError):
    """An HTTP error Litestar raised with a status none of the classes here covers; its
    status and title are the exception's."""

    code = "http_error"


class Unavailable(ApiError):
    status, code, title = 503, "unavailable", "A backing service is unavailable"
    RETRY_AFTER_S = 5  # outages here are a pool reconnecting or a server restarting

    def __init__(self, detail: str | None = None, **kwargs) -> None:
        super().__init__(detail, **kwargs)
        self.headers.setdefault("Retry-After", str(self.RETRY_AFTER_S))


def render(error: ApiError, request_id: str) -> Response[bytes]:
    problem = Problem(
        type=PROBLEM_TYPE_BASE + error.code,
        title=error.title,
        status=error.status,
        detail=error.detail,
        code=error.code,
        request_id=request_id,
        errors=error.errors,
    )
    return Response(
        content=msgspec.json.encode(problem),
        status_code=error.status,
        media_type=PROBLEM_JSON,
        headers=error.headers,
    )


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


def problem_responses(*errors: type[ApiError]) -> dict[int, Any]:
    """OpenAPI `responses=` entries for a route's documented errors."""
    from litestar.openapi.datastructures import ResponseSpec

    by_status: dict[int, list[type[ApiError]]] = {}
    for err in errors:
        by_status.setdefault(err.status, []).append(err)
    return {
        status: ResponseSpec(
            data_container=Problem,
            description=", ".join(f"`{e.code}`" for e in errs),
            media_type=PROBLEM_JSON,
            generate_examples=False,  # random examples would make the committed spec drift
        )
        for status, errs in sorted(by_status.items())
    }


# Which errors each kind of route documents (so the spec and schemathesis know them).
READ = (ValidationFailed, Unauthenticated, Forbidden, RateLimited, Unavailable)
WRITE = READ + (
    MalformedJson,
    IdempotencyKeyMissing,
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    PayloadTooLarge,
    UnsupportedMediaType,
)


def reads(*extra: type[ApiError]) -> dict[int, Any]:
    return problem_responses(*READ, *extra)


def writes(*extra: type[ApiError]) -> dict[int, Any]:
    return problem_responses(*WRITE, *extra)
