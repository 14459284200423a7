"""What GET /sandbox/requests answers."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from sandbox.faults.kinds import FaultKind

Outcome = Literal["first", "replayed", "conflict", "in_flight"]


class Header(msgspec.Struct):
    name: str
    value: str


class LoggedRequest(msgspec.Struct):
    id: Annotated[str, msgspec.Meta(description="The request's `X-Request-ID` (the client's own when it sent one)")]
    object: Literal["request"]
    at: Annotated[str, msgspec.Meta(description="When it arrived, on the merchant's clock")]
    method: str
    route: Annotated[str, msgspec.Meta(description="The route template it matched, e.g. `/api/v1/payouts/{payout_id}`")]
    path: Annotated[str, msgspec.Meta(description="Path and query string as sent")]
    status: Annotated[int, msgspec.Meta(
        description="The true answer's status (a fault may have kept it from the client)")]
    duration_ms: float
    idempotency_key: str | None
    idempotency_outcome: Annotated[Outcome | None, msgspec.Meta(
        description="`first` use of the key, `replayed` stored answer, `conflict` (the key was used with another"
                    " body), `in_flight` (another request held it); null without a key")]
    fault: Annotated[FaultKind | None, msgspec.Meta(description="The fault the request got, if any")]
    object_ids: Annotated[list[str], msgspec.Meta(description="Objects it created or acted on")]
    request_headers: Annotated[list[Header], msgspec.Meta(
        description="As sent, less the API key and other credentials (secrets in the others redacted)")]
    response_headers: list[Header]
    request_body: Annotated[str | None, msgspec.Meta(
        description="Cut at 64 KB; null when not kept (a large upload). Secrets (API keys, webhook signing secrets,"
                    " the admin key; raw or escaped) are kept as their prefix and `[redacted]`, e.g."
                    " `sk_test_[redacted]`, here and in every other field")]
    request_body_size: int
    response_body: Annotated[str, msgspec.Meta(
        description="Cut at 64 KB. Secrets (API keys, webhook signing secrets, the admin key; raw or escaped) are"
                    " kept as their prefix and `[redacted]`, e.g. `whsec_[redacted]`: the JSON stays valid")]
    response_body_size: int


class LoggedRequestPage(msgspec.Struct):
    data: list[LoggedRequest]
    has_more: bool
    next_cursor: str | None
