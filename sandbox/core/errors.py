"""One error hierarchy, rendered as RFC 9457 problem+json in one place."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Annotated, Any

import msgspec
from msgspec import Meta

if TYPE_CHECKING:
    from litestar import Response

log = logging.getLogger("sandbox.errors")

PROBLEM_TYPE_BASE = "https://mypay-sandbox.dev/problems/"
PROBLEM_JSON = "application/problem+json"

# An error may quote the client's input (a field name, a CSV column); the answer must not
# grow with it (a header of thousands of long names once came back in full, twice the size
# of the upload). Every error is cut to these sizes when it is made, so the API's
# problem+json, the dashboard's error page and the logs all get the short form.
DETAIL_MAX = 1000
FIELD_MAX = 100
MESSAGE_MAX = 300
ERRORS_MAX = 20
LISTED_MAX = 5


class FieldError(msgspec.Struct):
    field: Annotated[str, Meta(description="What is at fault: a body field by its path (`body.destination.iban`), "
                                           "a query parameter or a header by its name")]
    message: Annotated[str, Meta(description="What is wrong with it, in words")]


class Problem(msgspec.Struct, omit_defaults=True):
    """The body of every error response."""

    type: Annotated[str, Meta(description=f"A URL naming the problem: `{PROBLEM_TYPE_BASE}` and its `code`")]
    title: Annotated[str, Meta(description="A short summary of the problem, the same for every problem of its "
                                           "code (an `http_error`'s is the HTTP status's)")]
    status: Annotated[int, Meta(description="The HTTP status, as the response's")]
    detail: Annotated[str, Meta(description=f"What went wrong this time, in words (at most {DETAIL_MAX} "
                                            "characters); the title when there is nothing more to say")]
    code: Annotated[str, Meta(description="The problem's code, stable across versions: branch on it, not on the "
                                          "words")]
    request_id: Annotated[str, Meta(description="The request's `X-Request-ID`, as the response's header; a "
                                                "merchant's request is in its log (GET "
                                                "/sandbox/requests/{request_id})")]
    errors: Annotated[list[FieldError], Meta(description=(
        f"Each field at fault, when the problem is about fields (at most {ERRORS_MAX}, then one more saying how "
        "many were left out); left out when there is none"))] = msgspec.field(default_factory=list)


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


class ImpossibleTimeline(ApiError):
    status, code, title = 422, "impossible_timeline", "The payout state machine does not allow this timeline"


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
    from litestar import Response  # here: the processes that only raise these (`up`, the worker) need no Litestar

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


# --- how a route's problem answers read in the OpenAPI spec ---------------------------
# One response per status, its description the codes it may carry. Which errors a route documents is not listed by hand:
# sandbox/api/openapi_errors.py derives them from the code (`reads`, `writes` and `checks`
# remain for routes written with them, and add nothing).


def problem_responses(*errors: type[ApiError], notes: dict[int, str] | None = None) -> dict[int, Any]:
    """OpenAPI `responses=` entries for a route's problems, each status's codes once (in
    the order given), then the status's note if any."""
    from litestar.openapi.datastructures import ResponseSpec

    by_status: dict[int, list[str]] = {}
    for err in errors:
        codes = by_status.setdefault(err.status, [])
        if err.code not in codes:
            codes.append(err.code)
    notes = notes or {}
    return {
        status: ResponseSpec(
            data_container=Problem,
            description=", ".join(f"`{code}`" for code in codes) + (f": {notes[status]}" if status in notes else ""),
            media_type=PROBLEM_JSON,
            generate_examples=False,  # random examples would make the committed spec drift
        )
        for status, codes in sorted(by_status.items())
    }


def reads(*_: type[ApiError]) -> dict[int, Any]:
    return {}


def writes(*_: type[ApiError]) -> dict[int, Any]:
    return {}


def checks(*_: type[ApiError]) -> dict[int, Any]:
    return {}


class UnmodelledShape(ApiError):
    """A verdict was asked in a shape it does not model (sandbox/verdicts/shapes.py for the
    gate, sandbox/webhooks/audit/shapes.py for the receiver audit): refused before judging,
    its words naming the shape and what is modelled."""

    status, code, title = 422, "unmodelled_shape", "The request has a shape this verdict does not model"


class AboveCeiling(ApiError):
    """A team key asked for more than the operator allows teams (a merchant's rate limit
    past SANDBOX_RATE_LIMIT_CEILING): its words name the ceiling."""

    status, code, title = 422, "above_ceiling", "Past the operator's ceiling"


class QuotaExceeded(ApiError):
    """A team's quota (sandbox/teams/quotas.py) would be passed: its words name the quota,
    the team's usage and the bound."""

    status, code, title = 403, "quota_exceeded", "The team's quota is used up"
