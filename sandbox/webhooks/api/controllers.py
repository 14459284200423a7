from __future__ import annotations

from typing import Annotated, Literal

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.params import FromQuery, JSONBody, PathParameter, QueryParameter

from sandbox.auth.keys import MERCHANT_ONLY
from sandbox.webhooks.audit import audit_junit, audits
from sandbox.webhooks.audit import shapes as audit_shapes
from sandbox.webhooks.endpoints import endpoints, events
from sandbox.webhooks.model.schemas import (
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
    WebhookAudit,
    WebhookAuditPage,
    WebhookEndpoint,
    WebhookEndpointPage,
    WebhookEndpointWithSecret,
)

Id = Annotated[str, PathParameter(max_length=64)]
Limit = Annotated[int, QueryParameter(ge=1, le=100)]
Cursor = Annotated[str | None, QueryParameter(max_length=200)]
Format = Annotated[Literal["json", "junit"], QueryParameter(
    description="`junit`: the audit as JUnit XML (application/xml), which CI systems show as test results")]


def _audit_answer(audit: WebhookAudit, format: str) -> Response[WebhookAudit]:
    if format == "junit":
        return Response(audit_junit.render(audit), media_type=audit_junit.MEDIA_TYPE)  # type: ignore[return-value]
    return Response(audit)


class WebhookEndpointController(Controller):
    path = "/webhook-endpoints"
    tags = ["Webhooks"]
    opt = MERCHANT_ONLY

    @post("", operation_id="createWebhookEndpoint", status_code=201, summary="Register a webhook endpoint")
    async def create(self, request: Request, data: JSONBody[EndpointCreate]) -> WebhookEndpointWithSecret:
        """Events matching `events` are POSTed to `url`, signed the Standard Webhooks way.
        The `whsec_…` secret (hmac-sha256) is shown only here; ed25519 endpoints get a
        `whpk_…` public key instead. `faults` injects failures on purpose (see the Webhooks guide, docs/webhooks.md).
        A shared sandbox refuses a `url` inside the network (loopback, private, link-local, metadata…): 422
        `webhook_target_refused`, naming the address, its range and the settings (docs/security-limits.md)."""
        return await endpoints.create(request.user.merchant_id, data)

    @get("", operation_id="listWebhookEndpoints", summary="List webhook endpoints, newest first")
    async def list(self, request: Request, limit: Limit = 20, cursor: Cursor = None) -> WebhookEndpointPage:
        return await endpoints.list_page(request.user.merchant_id, limit, cursor)

    @get("/{endpoint_id:str}", operation_id="getWebhookEndpoint", summary="Get a webhook endpoint")
    async def retrieve(self, request: Request, endpoint_id: Id) -> WebhookEndpoint:
        return await endpoints.get(request.user.merchant_id, endpoint_id)

    @patch("/{endpoint_id:str}", operation_id="updateWebhookEndpoint", summary="Change a webhook endpoint")
    async def update(self, request: Request, endpoint_id: Id, data: JSONBody[EndpointUpdate]) -> WebhookEndpoint:
        """Change the URL, the event filter, the description or the injected faults, or
        turn the endpoint off and on (`status`). A new `url` is judged as at registration
        (422 `webhook_target_refused` for one inside the network, on a shared sandbox)."""
        return await endpoints.update(request.user.merchant_id, endpoint_id, data)

    @delete("/{endpoint_id:str}", operation_id="deleteWebhookEndpoint", status_code=200,
            summary="Delete a webhook endpoint")
    async def remove(self, request: Request, endpoint_id: Id) -> DeletedEndpoint:
        """Pending deliveries to it are cancelled; its delivery history stays under /events."""
        return await endpoints.delete(request.user.merchant_id, endpoint_id)

    @post("/{endpoint_id:str}/rotate-secret", operation_id="rotateWebhookSecret", status_code=200,
          summary="Rotate the signing key")
    async def rotate(self, request: Request, endpoint_id: Id,
                     data: JSONBody[RotateSecret]) -> WebhookEndpointWithSecret:
        """A new key signs from now on. For `grace_period_seconds` (default a day; send `{}`
        for it) the old key signs too: `webhook-signature` carries both signatures,
        space-separated."""
        return await endpoints.rotate(request.user.merchant_id, endpoint_id, data.grace_period_seconds)

    @post("/{endpoint_id:str}/audit", operation_id="auditWebhookReceiver", status_code=200,
          summary="Audit the receiver: a battery of signed requests, one verdict each",
          before_request=audit_shapes.refuse_unmodelled_audit)
    async def audit(self, request: Request, endpoint_id: Id, format: Format = "json") -> Response[WebhookAudit]:
        """Sends the endpoint's URL, one at a time, a valid event, the same webhook-id again,
        an unseen event type, a body changed after signing, a wrong key's signature, no
        signature headers, timestamps 10 minutes old and ahead, and two signatures (an
        unknown key's first, as in a rotation); each is judged against what a Standard
        Webhooks receiver must answer (2xx, or refused with 4xx) within the case timeout
        (5 s). The events are made up (`evt_audit_…`): no event, delivery or payout is
        made. At most about 30 s; one audit at a time per endpoint (409
        `audit_in_progress`); counts as the requests it sends (one per case) against the rate limit.
        It takes no body and no options: a body other than `{}` (cases, a scheme, a URL) is refused
        (422 `unmodelled_shape`), never ignored."""
        await audits.count_requests(request)
        return _audit_answer(await audits.run(request.user.merchant_id, endpoint_id), format)

    @get("/{endpoint_id:str}/audits", operation_id="listWebhookAudits", summary="The endpoint's audits, latest first")
    async def list_audits(self, request: Request, endpoint_id: Id, limit: Limit = 20,
                          cursor: Cursor = None) -> WebhookAuditPage:
        return await audits.list_page(request.user.merchant_id, endpoint_id, limit, cursor)

    @get("/{endpoint_id:str}/audits/{audit_id:str}", operation_id="getWebhookAudit", summary="One audit")
    async def audit_result(self, request: Request, endpoint_id: Id, audit_id: Id,
                           format: Format = "json") -> Response[WebhookAudit]:
        return _audit_answer(await audits.get(request.user.merchant_id, endpoint_id, audit_id), format)


class EventController(Controller):
    path = "/events"
    tags = ["Webhooks"]
    opt = MERCHANT_ONLY

    @get("", operation_id="listEvents", summary="List events, newest first")
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

    @get("/{event_id:str}", operation_id="getEvent", summary="Get an event")
    async def retrieve(self, request: Request, event_id: Id) -> Event:
        return await events.get(request.user.merchant_id, event_id)

    @get("/{event_id:str}/deliveries", operation_id="listEventDeliveries",
         summary="Deliveries of an event, with every attempt")
    async def deliveries(self, request: Request, event_id: Id, limit: Limit = 20,
                         cursor: Cursor = None) -> DeliveryPage:
        """One delivery per endpoint (and per resend), oldest first; each attempt shows the
        status code, latency, error, the start of the response body and the next retry."""
        return await events.deliveries_page(request.user.merchant_id, event_id, limit=limit, cursor=cursor)

    @post("/{event_id:str}/resend", operation_id="resendEvent", status_code=202, summary="Deliver an event again")
    async def resend(self, request: Request, event_id: Id, data: JSONBody[ResendRequest]) -> ResendAccepted:
        """A new delivery with the same `webhook-id`, to `endpoint_id` or (with `{}`) to every
        enabled endpoint whose filter matches. 409 when there is none (or it is disabled)."""
        return await events.resend(request.user.merchant_id, event_id, data.endpoint_id)
