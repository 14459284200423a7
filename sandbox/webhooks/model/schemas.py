from __future__ import annotations

from typing import Annotated, Any, Literal, TypeAlias

import msgspec

from sandbox.core.pagination import HasMore, NextCursor
from sandbox.core.types import Description
from sandbox.idempotency.cause import RequestCause
from sandbox.webhooks.model.event_types import PATTERNS, SEQUENCE_WORDS, TIMESTAMP_WORDS, EventType
from sandbox.webhooks.model.faults import Faults
from sandbox.webhooks.model.urls import URL_PATTERN

# An event type, a family (`payout.*`) or `*` for every event.
EventPattern: TypeAlias = Literal[PATTERNS]  # type: ignore[valid-type]
Events = Annotated[list[EventPattern], msgspec.Meta(min_length=1, max_length=len(PATTERNS))]
Url = Annotated[str, msgspec.Meta(min_length=1, max_length=2048, pattern=URL_PATTERN,
                                  examples=["http://127.0.0.1:4000/hook"],
                                  description="http(s); a host name or IPv4 address; no credentials or fragment")]
Signing = Literal["hmac-sha256", "ed25519"]
ObjectId = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_]+$")]


class EndpointCreate(msgspec.Struct, forbid_unknown_fields=True):
    """`hmac-sha256` endpoints get a `whsec_…` secret; `ed25519` endpoints get a `whpk_…`
    public key to verify `v1a` signatures with (the private key never leaves the sandbox)."""

    url: Url
    events: Events = msgspec.field(default_factory=lambda: ["*"])
    signing: Signing = "hmac-sha256"
    description: Description | None = None
    faults: Faults | None = None


EndpointStatus = Literal["enabled", "disabled"]


class EndpointUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """Fields left out stay as they are. `status: "enabled"` turns a disabled endpoint back
    on (after a 410, say); `faults: {}` switches every injected fault off."""

    url: Url | None = None
    events: Events | None = None
    description: Description | None = None
    status: EndpointStatus | None = None
    faults: Faults | None = None


class RotateSecret(msgspec.Struct, forbid_unknown_fields=True):
    grace_period_seconds: Annotated[int, msgspec.Meta(
        ge=0, le=7 * 86400,
        description="How long the old key keeps signing too (both signatures are sent); 0 stops it at once")] = 86400


class WebhookEndpoint(msgspec.Struct):
    id: str
    object: Literal["webhook_endpoint"]
    url: str
    description: str | None
    events: list[str]
    signing: Signing
    status: EndpointStatus
    disabled_reason: str | None
    public_key: str | None
    previous_key_expires_at: str | None
    faults: Faults
    created_at: str
    updated_at: str


class WebhookEndpointWithSecret(WebhookEndpoint):
    """As created or rotated: for `hmac-sha256` the only time the `whsec_…` secret is shown."""

    secret: str | None


class WebhookEndpointPage(msgspec.Struct):
    data: Annotated[list[WebhookEndpoint], msgspec.Meta(description="This page's webhook endpoints")]
    has_more: HasMore
    next_cursor: NextCursor


class DeletedEndpoint(msgspec.Struct):
    id: str
    object: Literal["webhook_endpoint"]
    deleted: bool


class Event(msgspec.Struct):
    id: str
    object: Literal["event"]
    type: EventType
    payout_id: Annotated[str | None, msgspec.Meta(description="The payout a `payout.*` event is about; null for "
                                                              "`batch.*` and `settlement.*` events")]
    created_at: Annotated[str, msgspec.Meta(description=TIMESTAMP_WORDS)]
    sequence: Annotated[int, msgspec.Meta(ge=1, description=SEQUENCE_WORDS)]
    data: Annotated[dict[str, Any], msgspec.Meta(
        description="The object as its GET route showed it then: the payout for `payout.*`, the batch for "
                    "`batch.completed`, the settlement run for `settlement.completed`")]
    request: Annotated[RequestCause | None, msgspec.Meta(
        description="The API request that caused the event (its `X-Request-ID` and idempotency key); null when "
                    "the sandbox did it on its own: a scenario step, the rail's callback, a clock")]


class EventPage(msgspec.Struct):
    data: Annotated[list[Event], msgspec.Meta(description="This page's events, newest first")]
    has_more: HasMore
    next_cursor: NextCursor


class Attempt(msgspec.Struct):
    number: int
    at: str
    webhook_timestamp: int
    status_code: int | None
    latency_ms: int | None
    error: str | None
    response_excerpt: str | None
    faults: list[str]
    next_retry_at: str | None


class Delivery(msgspec.Struct):
    id: str
    object: Literal["webhook_delivery"]
    event_id: str
    endpoint_id: str
    url: str
    resend: bool
    status: Literal["pending", "succeeded", "failed", "cancelled"]
    attempt_count: int
    next_attempt_at: str | None
    last_status_code: int | None
    last_error: str | None
    created_at: str
    completed_at: str | None
    attempts: list[Attempt]


class DeliveryPage(msgspec.Struct):
    data: Annotated[list[Delivery], msgspec.Meta(description="This page's deliveries, newest first")]
    has_more: HasMore
    next_cursor: NextCursor


class ResendRequest(msgspec.Struct, forbid_unknown_fields=True):
    """Without `endpoint_id`: every enabled endpoint whose filter matches the event."""

    endpoint_id: ObjectId | None = None


class ResendAccepted(msgspec.Struct):
    event_id: str
    deliveries: list[Delivery]


class AuditCase(msgspec.Struct):
    """One request of the receiver audit and what the receiver did with it."""

    name: str
    sends: Annotated[str, msgspec.Meta(description="What the request was")]
    expected: Annotated[Literal["2xx", "4xx"], msgspec.Meta(
        description="`2xx`: accepted within the case timeout; `4xx`: refused (a 5xx or no answer is not a refusal)")]
    observed_status: Annotated[int | None, msgspec.Meta(description="The receiver's HTTP status; null when none came")]
    transport_error: Annotated[str | None, msgspec.Meta(
        description="Why no answer came: a timeout, a refused connection, a blocked address")]
    latency_ms: int | None
    passed: bool
    why: Annotated[str, msgspec.Meta(description="Why a receiver must do this")]


class WebhookAudit(msgspec.Struct):
    """A run of the receiver audit against one endpoint: one verdict per case."""

    id: str
    object: Literal["webhook_audit"]
    endpoint_id: str
    url: str
    signing: Signing
    passed: Annotated[bool, msgspec.Meta(description="Every case passed")]
    case_count: int
    failed_count: int
    case_timeout_s: float
    started_at: str
    finished_at: str
    duration_ms: int
    cases: list[AuditCase]


class WebhookAuditPage(msgspec.Struct):
    data: Annotated[list[WebhookAudit], msgspec.Meta(description="This page's receiver audits, newest first")]
    has_more: HasMore
    next_cursor: NextCursor
