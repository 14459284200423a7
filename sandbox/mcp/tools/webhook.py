"""Webhook endpoints and what happened to each delivery: register a receiver, read the
attempts with the receiver's own answers, send an event again, audit the receiver."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from sandbox.mcp.bounds import PAGE_DEFAULT, PAGE_MOST, Cursor, Limit, segment
from sandbox.mcp.connection import Sandbox
from sandbox.mcp.tools.arguments import ID, Handle, IdempotencyKey, api_limits
from sandbox.webhooks.model.schemas import (
    PATTERNS,
    DeliveryPage,
    EventPattern,
    ObjectId,
    ResendAccepted,
    Url,
    WebhookAudit,
    WebhookEndpointPage,
    WebhookEndpointWithSecret,
)

EndpointId = Annotated[str, Field(max_length=64, pattern=ID, description="the webhook endpoint's id (we_…)")]
EVENTS_OF_A_PAYOUT = 10  # the newest ones: each costs a request for its deliveries


def register(app: MCPServer, sandbox: Sandbox) -> None:
    @app.tool()
    async def register_webhook_endpoint(
        ctx: Context,
        url: Annotated[str, Field(description="the receiver's URL (http:// or https://, a host name or IPv4 "
                                              "address, no credentials or fragment), reachable from the sandbox",
                                  **api_limits(Url))],
        events: Annotated[list[EventPattern], Field(min_length=1, max_length=len(PATTERNS), description=(
            'event types, families (payout.*) or ["*"] for all'))] = ["*"],  # noqa: B006
        signing: Annotated[Literal["hmac-sha256", "ed25519"], Field(
            description="hmac-sha256: a whsec_ secret; ed25519: a whpk_ public key (v1a signatures)")] = "hmac-sha256",
        reveal_secret: Annotated[bool, Field(
            description="answer the signing secret (whsec_…) the receiver verifies with; false: say only that "
                        "one was made (rotate it later to get a new one)")] = True,
        idempotency_key: IdempotencyKey = None,
        merchant: Handle = None,
    ) -> dict[str, Any]:
        """Register a webhook endpoint for the merchant's events (Standard Webhooks signatures). The receiver
        must verify each delivery with the secret answered here."""
        body = {"url": url, "events": events, "signing": signing, "description": "registered by an MCP client"}
        made = await sandbox.as_merchant(ctx, merchant, "POST", "/webhook-endpoints", status=201, json=body,
                                         into=WebhookEndpointWithSecret, idempotency_key=idempotency_key)
        answer = msgspec.to_builtins(made)
        if not reveal_secret and answer.get("secret"):
            answer["secret"] = "[not shown: reveal_secret]"
        return {"endpoint": answer}

    @app.tool()
    async def list_webhook_endpoints(
        ctx: Context,
        limit: Limit = PAGE_DEFAULT,
        cursor: Cursor = None,
        merchant: Handle = None,
    ) -> dict[str, Any]:
        """The merchant's webhook endpoints (url, events, status, why disabled), newest first, paged."""
        page = await sandbox.as_merchant(ctx, merchant, "GET", "/webhook-endpoints", into=WebhookEndpointPage,
                                         params={"limit": limit, "cursor": cursor})
        return msgspec.to_builtins(page)

    @app.tool()
    async def webhook_deliveries(
        ctx: Context,
        payout_id: Annotated[str | None, Field(max_length=64, pattern=ID, description="every event of this payout")
                             ] = None,
        event_id: Annotated[str | None, Field(max_length=64, pattern=ID, description="or one event (evt_…)")] = None,
        merchant: Handle = None,
    ) -> dict[str, Any]:
        """What the sandbox sent the merchant's receivers and what each receiver answered: per event, each
        delivery's status and every attempt (time, HTTP status, latency, error, an excerpt of the receiver's
        response body, next retry). For a payout: its newest events."""
        if (payout_id is None) == (event_id is None):
            raise ToolError("give a payout_id or an event_id (one of them)")
        if event_id is not None:
            ids = [(event_id, None)]
        else:
            # The payout itself first: an unknown one is the API's 404, not "no events".
            await sandbox.as_merchant(ctx, merchant, "GET", f"/payouts/{segment(payout_id or '')}", into=dict)
            page = await sandbox.as_merchant(ctx, merchant, "GET", "/events", into=dict,
                                             params={"payout_id": payout_id, "limit": EVENTS_OF_A_PAYOUT})
            ids = [(e["id"], e.get("type")) for e in sorted(page["data"], key=lambda e: e.get("sequence", 0))]
        found = []
        for eid, kind in ids:
            deliveries = await sandbox.as_merchant(ctx, merchant, "GET", f"/events/{segment(eid)}/deliveries",
                                                   into=DeliveryPage, params={"limit": PAGE_MOST})
            found.append({"event_id": eid, "type": kind, "deliveries": msgspec.to_builtins(deliveries.data)})
        return {"events": found}

    @app.tool()
    async def resend_event(
        ctx: Context,
        event_id: Annotated[str, Field(max_length=64, pattern=ID, description="the event to deliver again (evt_…)")],
        endpoint_id: Annotated[str | None, Field(description="only to this endpoint (default: every enabled "
                                                             "endpoint that takes it)", **api_limits(ObjectId))
                               ] = None,
        idempotency_key: IdempotencyKey = None,
        merchant: Handle = None,
    ) -> dict[str, Any]:
        """Deliver an event again (a new delivery, the same event id: a receiver must treat it as a duplicate)."""
        done = await sandbox.as_merchant(ctx, merchant, "POST", f"/events/{segment(event_id)}/resend", status=202,
                                         json={"endpoint_id": endpoint_id} if endpoint_id else {},
                                         into=ResendAccepted, idempotency_key=idempotency_key)
        return msgspec.to_builtins(done)

    @app.tool()
    async def audit_webhook_receiver(ctx: Context, endpoint_id: EndpointId, idempotency_key: IdempotencyKey = None,
                                     merchant: Handle = None) -> dict[str, Any]:
        """Send the endpoint's receiver the audit's fixed battery of signed deliveries that create nothing
        (valid, replayed, unknown type, tampered body, wrong secret, unsigned, stale and future timestamps,
        a rotation) and answer one verdict per case: expected, observed status, passed, and why it matters."""
        audit = await sandbox.as_merchant(ctx, merchant, "POST", f"/webhook-endpoints/{segment(endpoint_id)}/audit",
                                          into=WebhookAudit, idempotency_key=idempotency_key)
        answer = msgspec.to_builtins(audit)
        failed = [c["name"] for c in answer["cases"] if not c["passed"]]
        answer["summary"] = (f"all {audit.case_count} cases passed" if audit.passed else
                             f"{audit.failed_count} of {audit.case_count} cases failed: {', '.join(failed)}")
        return answer
