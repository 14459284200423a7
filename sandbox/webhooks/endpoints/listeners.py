"""Listener endpoints (`sandbox listen`, docs/listening.md): opened by name, found again
under it. A listener endpoint is a webhook endpoint like any other (its deliveries are
made, signed, faulted, retried, resent and audited by the same code), whose requests go
down the stream its listener opens instead of to a URL (sandbox/webhooks/listeners/)."""

from __future__ import annotations

from sandbox import db
from sandbox.core.errors import NotFound
from sandbox.core.ids import new_id
from sandbox.settings import get_settings
from sandbox.webhooks.endpoints import endpoints
from sandbox.webhooks.endpoints.endpoints import COLUMNS
from sandbox.webhooks.model import signatures
from sandbox.webhooks.model.listener_schemas import ListenerOpen, WebhookListener
from sandbox.webhooks.model.urls import listener_url

API_PREFIX = "/api/v1"


async def open_listener(merchant_id: str, body: ListenerOpen) -> WebhookListener:
    """The merchant's listener endpoint named `body.name`, made if there is none (HMAC
    signed: `whsec_…`), its event filter set to `body.events` either way."""
    patterns = endpoints.unique_patterns(body.events)
    created = False
    async with db.transaction():
        await endpoints.lock_merchant(merchant_id)
        row = await db.fetchrow(
            f"UPDATE webhook_endpoint SET events = $3::jsonb, updated_at = now()"
            " WHERE merchant = $1 AND listener_name = $2 AND deleted_at IS NULL"
            f" RETURNING {COLUMNS}, signing_key", merchant_id, body.name, endpoints.encode(patterns))
        if row is None:
            endpoint_id = new_id("we")
            pair = signatures.generate(signatures.HMAC)
            row = await endpoints.insert(merchant_id, endpoint_id, listener_url(endpoint_id), patterns, signatures.HMAC,
                                         pair, description=f"sandbox listen --name {body.name}", kind="listener",
                                         listener_name=body.name)
            secret, created = pair.signing_key, True
        else:
            secret = row["signing_key"]
    if created:
        await endpoints.keys_changed()
    endpoint = endpoints.to_api(row)
    path = f"{API_PREFIX}/webhook-listeners/{endpoint.id}"
    return WebhookListener(object="webhook_listener", endpoint=endpoint, secret=secret, stream=f"{path}/stream",
                           acks=f"{path}/acks", window=get_settings().listen_window, created=created)


async def listener_endpoint(merchant_id: str, endpoint_id: str) -> None:
    """That the merchant has this live listener endpoint; 404 otherwise (another merchant's
    as well)."""
    found = await db.fetchval(
        "SELECT 1 FROM webhook_endpoint WHERE id = $1 AND merchant = $2 AND kind = 'listener' AND deleted_at IS NULL",
        endpoint_id, merchant_id)
    if found is None:
        raise NotFound(f"No listener endpoint {endpoint_id}")
