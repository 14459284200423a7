"""Which errors each kind of route documents (so the spec and schemathesis know them)."""

from __future__ import annotations

from typing import Any

from sandbox.core.errors import (
    ApiError,
    Forbidden,
    IdempotencyKeyInUse,
    IdempotencyKeyMissing,
    IdempotencyKeyReused,
    MalformedJson,
    PayloadTooLarge,
    RateLimited,
    Unauthenticated,
    Unavailable,
    UnsupportedMediaType,
    ValidationFailed,
    problem_responses,
)

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
