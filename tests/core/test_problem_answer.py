"""`problem_answers.answer`: a problem answered outside Litestar's exception handling (a NUL in
the path, a refusal whose storing failed) reads as every other problem does."""

from __future__ import annotations

import msgspec

from sandbox.core import errors, problem_answers
from sandbox.observability import nul_guard


async def answered(scope: dict, error: errors.ApiError) -> tuple[dict, dict]:
    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    await problem_answers.answer(scope, send, error)
    start, body = sent
    return start, msgspec.json.decode(body["body"])


def scope_for(path: str, query: bytes = b"") -> dict:
    return {"type": "http", "method": "GET", "path": path, "query_string": query,
            "headers": [(b"x-request-id", b"req-test-1")]}


async def test_a_nul_in_the_path_is_a_problem_404():
    scope = scope_for("/api/v1/payouts/\x00")
    start, problem = await answered(scope, nul_guard.refusal(scope))
    assert start["status"] == 404
    assert (b"content-type", b"application/problem+json") in start["headers"]
    assert problem["code"] == "not_found" and problem["request_id"] == "req-test-1"


async def test_a_nul_in_a_query_value_names_the_parameter():
    scope = scope_for("/api/v1/payouts", b"reference=a%00b")
    start, problem = await answered(scope, nul_guard.refusal(scope))
    assert start["status"] == 400
    assert [e["field"] for e in problem["errors"]] == ["reference"]


def test_requests_without_a_nul_pass():
    assert nul_guard.refusal(scope_for("/api/v1/payouts", b"reference=a%2500b")) is None
