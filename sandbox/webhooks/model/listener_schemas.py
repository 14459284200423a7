"""The wire shapes of a listener endpoint (`sandbox listen`, docs/listening.md): opening
one, the requests its stream sends, the answers the listener sends back."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from sandbox.core.types import said
from sandbox.webhooks.model.schemas import EVENTS_WORDS, Events, WebhookEndpoint

ListenerName = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$",
                                           examples=["default"])]
MOST_ACKS = 100  # answers one POST carries at most


class ListenerOpen(msgspec.Struct, forbid_unknown_fields=True):
    """Open (or find again) the merchant's listener endpoint of this `name`."""

    name: Annotated[ListenerName, said(
        "The listener's name. Listeners started under one name share one endpoint and so its deliveries (each "
        "event goes to one of them); under different names each gets every event")] = "default"
    events: Annotated[Events, said(EVENTS_WORDS)] = msgspec.field(default_factory=lambda: ["*"])


class WebhookListener(msgspec.Struct):
    """A listener endpoint as opened: its signing secret is shown on every open (a listener
    started again prints it again, as `stripe listen` does)."""

    object: Annotated[Literal["webhook_listener"], said("The object's kind")]
    endpoint: Annotated[WebhookEndpoint, said("The listener's webhook endpoint (kind `listener`): in the delivery log, "
                                              "the audit and the gate as any endpoint is")]
    secret: Annotated[str, said("The `whsec_…` secret its deliveries are signed with (Standard Webhooks)")]
    stream: Annotated[str, said("The stream's path: GET it (text/event-stream) with the merchant's key")]
    acks: Annotated[str, said("Where each delivery's answer is POSTed back")]
    window: Annotated[int, said("At most this many deliveries are unanswered at once per worker process "
                                "(SANDBOX_LISTEN_WINDOW): a slow receiver slows the stream")]
    created: Annotated[bool, said("False: an endpoint of this name existed, and deliveries made while no "
                                  "listener was connected are sent now")]


class ListenerRequest(msgspec.Struct):
    """One `event: delivery` of the stream (its `data`): the request to forward, exactly as a
    URL endpoint would receive it."""

    id: Annotated[str, said("The request's id (also the SSE `id`): quote it in the answer. It is bound to this "
                            "endpoint: only this endpoint's `acks` takes it")]
    expires_at_ms: Annotated[int, said("Unix milliseconds after which the sandbox no longer waits for the answer "
                                       "(the attempt is then recorded as timed out and retried)")]
    headers: Annotated[dict[str, str], said("The headers to send: `content-type`, `webhook-id`, "
                                            "`webhook-timestamp`, `webhook-signature`")]
    body: Annotated[str, said("The body to send, byte for byte as UTF-8: the signature covers it")]


class ListenerAck(msgspec.Struct, forbid_unknown_fields=True):
    """What the receiver answered to one request (or why it did not)."""

    id: Annotated[str, msgspec.Meta(min_length=1, max_length=80, description=(
        "The request's `id`, as this endpoint's stream sent it (any other refuses the whole POST with 404)"))]
    status_code: Annotated[int, msgspec.Meta(ge=100, le=599, description=(
        "The receiver's HTTP status; null when none came (then say why in `error`)"))] | None
    latency_ms: Annotated[int, msgspec.Meta(ge=0, le=3_600_000, description=(
        "How long the receiver took to answer"))] | None = None
    body_excerpt: Annotated[str, msgspec.Meta(max_length=1024, description=(
        "The start of the receiver's answer (the sandbox keeps 500 characters)"))] | None = None
    error: Annotated[str, msgspec.Meta(max_length=500, description=(
        "Why no answer came: the receiver refused the connection, timed out, …"))] | None = None
    retry_after: Annotated[str, msgspec.Meta(max_length=100, description=(
        "The receiver's `Retry-After` header, if any (honoured on a 429 or 503)"))] | None = None
    location: Annotated[str, msgspec.Meta(max_length=2048, description=(
        "The receiver's `Location` header, if any (redirects are not followed)"))] | None = None


class ListenerAcks(msgspec.Struct, forbid_unknown_fields=True):
    acks: Annotated[list[ListenerAck], msgspec.Meta(min_length=1, max_length=MOST_ACKS, description=(
        f"Answers to requests of the stream, at most {MOST_ACKS} in one POST"))]


class AcksAccepted(msgspec.Struct):
    object: Annotated[Literal["listener_acks"], said("The object's kind")]
    accepted: Annotated[int, said("How many answers were passed on to the attempts waiting for them")]
