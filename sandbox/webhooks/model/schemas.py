from __future__ import annotations

from typing import Annotated, Any, Literal, TypeAlias

import msgspec

from sandbox.core.pagination import HasMore, NextCursor
from sandbox.core.types import Description, said
from sandbox.idempotency.cause import RequestCause
from sandbox.webhooks.model.event_types import (
    EVENT_ID_WORDS,
    PATTERNS,
    SEQUENCE_WORDS,
    TIMESTAMP_WORDS,
    TYPE_WORDS,
    EventType,
)
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


EVENTS_WORDS = "The events it receives: event types, families (`payout.*`) or `*` for every event"


class EndpointCreate(msgspec.Struct, forbid_unknown_fields=True):
    """`hmac-sha256` endpoints get a `whsec_…` secret; `ed25519` endpoints get a `whpk_…`
    public key to verify `v1a` signatures with (the private key never leaves the sandbox)."""

    url: Annotated[Url, said("Where the sandbox POSTs each event")]
    events: Annotated[Events, said(EVENTS_WORDS)] = msgspec.field(default_factory=lambda: ["*"])
    signing: Annotated[Signing, said("How deliveries are signed: `hmac-sha256` (a `whsec_…` secret) or `ed25519`")] = (
        "hmac-sha256")
    description: Annotated[Description, said("Your words for the endpoint")] | None = None
    faults: Annotated[Faults, said("Faults injected into its deliveries, to test your receiver")] | None = None


EndpointStatus = Literal["enabled", "disabled"]
EndpointKind = Literal["url", "listener"]


class EndpointUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """Fields left out stay as they are. `status: "enabled"` turns a disabled endpoint back
    on (after a 410, say); `faults: {}` switches every injected fault off."""

    url: Annotated[Url, said("Where the sandbox POSTs each event")] | None = None
    events: Annotated[Events, said(EVENTS_WORDS)] | None = None
    description: Annotated[Description, said("Your words for the endpoint")] | None = None
    status: Annotated[EndpointStatus, said("`enabled` turns a disabled endpoint back on; `disabled` stops its "
                                           "deliveries")] | None = None
    faults: Annotated[Faults, said("Faults injected into its deliveries; `{}` switches every one off")] | None = None


class RotateSecret(msgspec.Struct, forbid_unknown_fields=True):
    grace_period_seconds: Annotated[int, msgspec.Meta(
        ge=0, le=7 * 86400,
        description="How long the old key keeps signing too (both signatures are sent); 0 stops it at once")] = 86400


class WebhookEndpoint(msgspec.Struct):
    id: Annotated[str, said("The endpoint's id (`we_…`)")]
    object: Annotated[Literal["webhook_endpoint"], said("The object's kind")]
    url: Annotated[str, said("Where the sandbox POSTs each event")]
    description: Annotated[str | None, said("Your words for the endpoint")]
    events: Annotated[list[str], said(EVENTS_WORDS)]
    signing: Annotated[Signing, said("How deliveries are signed")]
    status: Annotated[EndpointStatus, said("`disabled`: no deliveries (a `410 Gone` from it disables it)")]
    disabled_reason: Annotated[str | None, said("Why it was disabled; null while enabled")]
    public_key: Annotated[str | None, said("For `ed25519`: the `whpk_…` key to verify `v1a` signatures with")]
    previous_key_expires_at: Annotated[str | None, said("After a rotation: until when the old key signs too")]
    faults: Faults  # described by its own schema (a field's words would replace them there)
    created_at: Annotated[str, said("When it was made (RFC 3339, milliseconds)")]
    updated_at: Annotated[str, said("When it last changed (RFC 3339, milliseconds)")]
    kind: Annotated[EndpointKind, said(
        "`url`: the sandbox POSTs to `url`. `listener`: deliveries go down the stream a `sandbox listen` opens "
        "(`url` then reads `listener://<id>`; docs/listening.md)")]
    listener_name: Annotated[str | None, said("A listener endpoint's name (`sandbox listen --name`); null for a "
                                              "URL")]


class WebhookEndpointWithSecret(WebhookEndpoint):
    """As created or rotated: for `hmac-sha256` the only time the `whsec_…` secret is shown."""

    secret: Annotated[str | None, said("For `hmac-sha256`: the `whsec_…` signing secret, shown only here")]


class WebhookEndpointPage(msgspec.Struct):
    data: Annotated[list[WebhookEndpoint], msgspec.Meta(description="This page's webhook endpoints")]
    has_more: HasMore
    next_cursor: NextCursor


class DeletedEndpoint(msgspec.Struct):
    id: Annotated[str, said("The endpoint deleted")]
    object: Annotated[Literal["webhook_endpoint"], said("The object's kind")]
    deleted: Annotated[bool, said("True: it is gone, and its waiting deliveries are cancelled")]


class Event(msgspec.Struct):
    id: Annotated[str, said(EVENT_ID_WORDS)]
    object: Annotated[Literal["event"], said("The object's kind")]
    type: Annotated[EventType, said(TYPE_WORDS)]
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
    number: Annotated[int, said("The attempt's place, 1 to 8")]
    at: Annotated[str, said("When it was sent (RFC 3339, milliseconds), in real time")]
    webhook_timestamp: Annotated[int, said("Its `webhook-timestamp` header: unix seconds of the attempt, in real "
                                           "time (a manual clock moves the body's `timestamp` only)")]
    status_code: Annotated[int | None, said("The receiver's HTTP status; null when none came")]
    latency_ms: Annotated[int | None, said("How long the receiver took to answer")]
    error: Annotated[str | None, said("Why it failed: a timeout, a refused connection, a non-2xx status")]
    response_excerpt: Annotated[str | None, said("The first 500 characters of the receiver's answer")]
    faults: Annotated[list[str], said("The faults injected into this attempt")]
    next_retry_at: Annotated[str | None, said("When the next attempt is due; null when none will be")]


class Delivery(msgspec.Struct):
    id: Annotated[str, said("The delivery's id")]
    object: Annotated[Literal["webhook_delivery"], said("The object's kind")]
    event_id: Annotated[str, said("The event delivered (its `webhook-id`)")]
    endpoint_id: Annotated[str, said("The endpoint it goes to")]
    url: Annotated[str, said("The URL it was sent to")]
    resend: Annotated[bool, said("Made by `POST /events/{id}/resend`")]
    status: Annotated[Literal["pending", "succeeded", "failed", "cancelled"], said(
        "`pending` while attempts remain, `succeeded` on a 2xx, `failed` after the eighth attempt, `cancelled` "
        "when its endpoint was deleted")]
    attempt_count: Annotated[int, said("How many attempts were made")]
    next_attempt_at: Annotated[str | None, said("When the next attempt is due; null when none will be")]
    last_status_code: Annotated[int | None, said("The last attempt's HTTP status; null when none came")]
    last_error: Annotated[str | None, said("Why the last attempt failed")]
    created_at: Annotated[str, said("When it was made (RFC 3339, milliseconds)")]
    completed_at: Annotated[str | None, said("When it succeeded, failed or was cancelled")]
    attempts: Annotated[list[Attempt], said("Every attempt, oldest first")]


class DeliveryPage(msgspec.Struct):
    data: Annotated[list[Delivery], msgspec.Meta(description="This page's deliveries, newest first")]
    has_more: HasMore
    next_cursor: NextCursor


class ResendRequest(msgspec.Struct, forbid_unknown_fields=True):
    """Without `endpoint_id`: every enabled endpoint whose filter matches the event."""

    endpoint_id: Annotated[ObjectId, said("The endpoint (`we_…`) to deliver to; none: every enabled endpoint whose "
                                          "filter matches")] | None = None


class ResendAccepted(msgspec.Struct):
    event_id: Annotated[str, said("The event delivered again (the same `webhook-id`)")]
    deliveries: Annotated[list[Delivery], said("The new deliveries, one per endpoint")]


class AuditCase(msgspec.Struct):
    """One request of the receiver audit and what the receiver did with it."""

    name: Annotated[str, msgspec.Meta(description="The case's name, the same in every audit (`valid_event`, "
                                                  "`tampered_body`, …)")]
    sends: Annotated[str, msgspec.Meta(description="What the request was")]
    expected: Annotated[Literal["2xx", "4xx"], msgspec.Meta(
        description="`2xx`: accepted within the case timeout; `4xx`: refused (a 5xx or no answer is not a refusal)")]
    observed_status: Annotated[int | None, msgspec.Meta(description="The receiver's HTTP status; null when none came")]
    transport_error: Annotated[str | None, msgspec.Meta(
        description="Why no answer came: a timeout, a refused connection, a blocked address")]
    latency_ms: Annotated[int | None, msgspec.Meta(
        description="Milliseconds until the answer, the error or the case's timeout; null when it was not sent "
                    "(the audit's time budget was spent)")]
    passed: Annotated[bool, msgspec.Meta(description="The receiver answered as `expected`")]
    why: Annotated[str, msgspec.Meta(description="Why a receiver must do this")]


class WebhookAudit(msgspec.Struct):
    """A run of the receiver audit against one endpoint: one verdict per case."""

    id: Annotated[str, said("The audit's id (`wha_…`)")]
    object: Annotated[Literal["webhook_audit"], said("The object's kind")]
    endpoint_id: Annotated[str, said("The endpoint audited (`we_…`)")]
    url: Annotated[str, said("Its URL when audited, where the cases were sent")]
    signing: Annotated[Signing, said("Its signing when audited: how the cases were signed")]
    passed: Annotated[bool, msgspec.Meta(description="Every case passed")]
    case_count: Annotated[int, said("How many cases the audit has")]
    failed_count: Annotated[int, said("How many of them failed")]
    case_timeout_s: Annotated[float, said("How long each case waited for an answer, in seconds "
                                          "(SANDBOX_WEBHOOK_AUDIT_CASE_TIMEOUT_S)")]
    started_at: Annotated[str, said("When it started (RFC 3339, milliseconds), in real time")]
    finished_at: Annotated[str, said("When it finished (RFC 3339, milliseconds), in real time")]
    duration_ms: Annotated[int, said("How long it took, in milliseconds")]
    cases: Annotated[list[AuditCase], said("Each case, in the order sent")]


class WebhookAuditPage(msgspec.Struct):
    data: Annotated[list[WebhookAudit], msgspec.Meta(description="This page's receiver audits, newest first")]
    has_more: HasMore
    next_cursor: NextCursor
