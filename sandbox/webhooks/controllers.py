from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, delete, get, patch, post
from litestar.params import FromQuery, JSONBody, PathParameter, QueryParameter

from sandbox.auth.keys import merchant_only
from sandbox.core.errors import Conflict, NotFound, reads, writes
from sandbox.webhooks import endpoints, events
from sandbox.webhooks.schemas import (
    DeletedEndpoint,
    DeliveryPage,
    EndpointCreate,
    EndpointUpdate,
    Event,
    EventPage,
    EventPattern,
    ResendAccepted,
    ResendRequest,
    RotateSecret,
    WebhookEndpoint,
    WebhookEndpointPage,
    WebhookEndpointWithSecret,
)

Id = Annotated[str, PathParameter(max_length=64)]
Limit = Annotated[int, QueryParameter(ge=1, le=100)]
Cursor = Annotated[str | None, QueryParameter(max_length=200)]


class WebhookEndpointController(Controller):
    path = "/webhook-endpoints"
    tags = ["Webhooks"]
    guards = [merchant_only]

    @post("", operation_id="createWebhookEndpoint", status_code=201, summary="Register a webhook endpoint",
          responses=writes(Conflict))
    async def create(self, request: Request, data: JSONBody[EndpointCreate]) -> WebhookEndpointWithSecret:
        """Events matching `events` are POSTed to `url`, signed the Standard Webhooks way.
        The `whsec_…` secret (hmac-sha256) is shown only here; ed25519 endpoints get a
        `whpk_…` public key instead. `faults` injects failures on purpose (see the README)."""
        return await endpoints.create(request.user.merchant_id, data)

    @get("", operation_id="listWebhookEndpoints", summary="List webhook endpoints, newest first",
         responses=reads())
    async def list(self, request: Request, limit: Limit = 20, cursor: Cursor = None) -> WebhookEndpointPage:
        return await endpoints.list_page(request.user.merchant_id, limit, cursor)

    @get("/{endpoint_id:str}", operation_id="getWebhookEndpoint", summary="Get a webhook endpoint",
         responses=reads(NotFound))
    async def retrieve(self, request: Request, endpoint_id: Id) -> WebhookEndpoint:
        return await endpoints.get(request.user.merchant_id, endpoint_id)

    @patch("/{endpoint_id:str}", operation_id="updateWebhookEndpoint", summary="Change a webhook endpoint",
           responses=writes(NotFound))
    async def update(self, request: Request, endpoint_id: Id, data: JSONBody[EndpointUpdate]) -> WebhookEndpoint:
        """Change the URL, the event filter, the description or the injected faults, or
        turn the endpoint off and on (`status`)."""
        return await endpoints.update(request.user.merchant_id, endpoint_id, data)

    @delete("/{endpoint_id:str}", operation_id="deleteWebhookEndpoint", status_code=200,
            summary="Delete a webhook endpoint", responses=writes(NotFound))
    async def remove(self, request: Request, endpoint_id: Id) -> DeletedEndpoint:
        """Pending deliveries to it are cancelled; its delivery history stays under /events."""
        return await endpoints.delete(request.user.merchant_id, endpoint_id)

    @post("/{endpoint_id:str}/rotate-secret", operation_id="rotateWebhookSecret", status_code=200,
          summary="Rotate the signing key", responses=writes(NotFound))
    async def rotate(self, request: Request, endpoint_id: Id,
                     data: JSONBody[RotateSecret]) -> WebhookEndpointWithSecret:
        """A new key signs from now on. For `grace_period_seconds` (default a day; send `{}`
        for it) the old key signs too: `webhook-signature` carries both signatures,
        space-separated."""
        return await endpoints.rotate(request.user.merchant_id, endpoint_id, data.grace_period_seconds)


class EventController(Controller):
    path = "/events"
    tags = ["Webhooks"]
    guards = [merchant_only]

    @get("", operation_id="listEvents", summary="List events, newest first", responses=reads())
    async def list(
        self,
        request: Request,
        limit: Limit = 20,
        cursor: Cursor = None,
        type: FromQuery[EventPattern | None] = None,
        payout_id: Annotated[str | None, QueryParameter(max_length=64)] = None,
    ) -> EventPage:
        return await events.list_page(request.user.merchant_id, limit=limit, cursor=cursor,
                                             type_pattern=type, payout_id=payout_id)

    @get("/{event_id:str}", operation_id="getEvent", summary="Get an event", responses=reads(NotFound))
    async def retrieve(self, request: Request, event_id: Id) -> Event:
        return await events.get(request.user.merchant_id, event_id)

    @get("/{event_id:str}/deliveries", operation_id="listEventDeliveries",
         summary="Deliveries of an event, with every attempt", responses=reads(NotFound))
    async def deliveries(self, request: Request, event_id: Id, limit: Limit = 20,
                         cursor: Cursor = None) -> DeliveryPage:
        """One delivery per endpoint (and per resend), oldest first; each attempt shows the
        status code, latency, error, the start of the response body and the next retry."""
        return await events.deliveries_page(request.user.merchant_id, event_id, limit=limit, cursor=cursor)

    @post("/{event_id:str}/resend", operation_id="resendEvent", status_code=202, summary="Deliver an event again",
          responses=writes(NotFound, Conflict))
    async def resend(self, request: Request, event_id: Id, data: JSONBody[ResendRequest]) -> ResendAccepted:
        """A new delivery with the same `webhook-id`, to `endpoint_id` or (with `{}`) to every
        enabled endpoint whose filter matches. 409 when there is none (or it is disabled)."""
        return await events.resend(request.user.merchant_id, event_id, data.endpoint_id)
