"""How a route's problem answers read in the OpenAPI spec: one response per status, its
description the codes it may carry. Which errors a route documents is not listed by hand:
sandbox/api/openapi_errors.py derives them from the code (`reads`, `writes` and `checks`
remain for routes written with them, and add nothing)."""

from __future__ import annotations

from typing import Any

from sandbox.core.errors import PROBLEM_JSON, ApiError, Problem


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
