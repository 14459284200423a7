"""The errors each route documents in the OpenAPI spec (so the spec, the generated
clients and schemathesis know every problem a route may answer)."""

from __future__ import annotations

from typing import Any

from sandbox.core.errors import (
    PROBLEM_JSON,
    ApiError,
    Forbidden,
    IdempotencyKeyInUse,
    IdempotencyKeyMissing,
    IdempotencyKeyReused,
    MalformedJson,
    PayloadTooLarge,
    Problem,
    RateLimited,
    Unauthenticated,
    Unavailable,
    UnsupportedMediaType,
    ValidationFailed,
)


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
# A POST that changes nothing (a check, a verdict): its body is checked, no key is claimed.
CHECK = READ + (MalformedJson, PayloadTooLarge, UnsupportedMediaType)
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


def checks(*extra: type[ApiError]) -> dict[int, Any]:
    return problem_responses(*CHECK, *extra)
