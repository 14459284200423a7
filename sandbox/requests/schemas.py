"""What GET /sandbox/requests answers."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from sandbox.core.pagination import HasMore, NextCursor
from sandbox.core.types import said
from sandbox.faults.kinds import FaultKind

Outcome = Literal["first", "replayed", "conflict", "in_flight"]

# What a logged request's time covers (the log's `duration_ms`, HAR's `time`). An entry
# that commits with its effect rides in that effect's one database call, so its time is
# taken as that call is made.
DURATION_SAID = ("How long the sandbox took to answer, in milliseconds of real time; for a request whose entry "
                 "commits in the same database call as its effect (`POST /payouts` that makes a payout), the time "
                 "until that call was sent, without the call itself")


class Header(msgspec.Struct):
    name: Annotated[str, said("The header's name, as sent")]
    value: Annotated[str, said("Its value (secrets redacted)")]


class LoggedRequest(msgspec.Struct):
    id: Annotated[str, msgspec.Meta(description="The request's `X-Request-ID` (the client's own when it sent one)")]
    object: Annotated[Literal["request"], said("The object's kind")]
    at: Annotated[str, msgspec.Meta(description="When it arrived, on the merchant's clock")]
    method: Annotated[str, said("The HTTP method")]
    route: Annotated[str, msgspec.Meta(description="The route template it matched, e.g. `/api/v1/payouts/{payout_id}`")]
    path: Annotated[str, msgspec.Meta(description="Path and query string as sent")]
    status: Annotated[int, msgspec.Meta(
        description="The true answer's status (a fault may have kept it from the client)")]
    duration_ms: Annotated[float, said(DURATION_SAID)]
    idempotency_key: Annotated[str | None, said("Its `Idempotency-Key`; null without one")]
    idempotency_outcome: Annotated[Outcome | None, msgspec.Meta(
        description="`first` use of the key, `replayed` stored answer, `conflict` (the key was used with another"
                    " body), `in_flight` (another request held it); null without a key")]
    fault: Annotated[FaultKind | None, msgspec.Meta(description="The fault the request got, if any")]
    object_ids: Annotated[list[str], msgspec.Meta(description="Objects it created or acted on")]
    request_headers: Annotated[list[Header], msgspec.Meta(
        description="As sent, less the API key and other credentials (secrets in the others redacted)")]
    response_headers: Annotated[list[Header], said("The true answer's headers, secrets redacted")]
    request_body: Annotated[str | None, msgspec.Meta(
        description="Cut at 64 KB; null when not kept (a large upload). Secrets (API keys, webhook signing secrets,"
                    " the admin key; raw or escaped) are kept as their prefix and `[redacted]`, e.g."
                    " `sk_test_[redacted]`, here and in every other field")]
    request_body_size: Annotated[int, said("The request body's size in bytes as sent; 0 without a body")]
    response_body: Annotated[str, msgspec.Meta(
        description="Cut at 64 KB. Secrets (API keys, webhook signing secrets, the admin key; raw or escaped) are"
                    " kept as their prefix and `[redacted]`, e.g. `whsec_[redacted]`: the JSON stays valid")]
    response_body_size: Annotated[int, said("The answer body's size in bytes (before `response_body` was cut)")]


class LoggedRequestPage(msgspec.Struct):
    data: Annotated[list[LoggedRequest], said("This page's logged requests, newest first")]
    has_more: HasMore
    next_cursor: NextCursor
