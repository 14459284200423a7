"""Webhook endpoints: register, read, list, change, delete, rotate the signing key."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import msgspec

from sandbox import db
from sandbox.auth import cache as auth_cache
from sandbox.core.clock import iso, now
from sandbox.core.errors import Conflict, NotFound, ValidationFailed
from sandbox.core.ids import new_id
from sandbox.core.pagination import clamp, cut, decode_cursor
from sandbox.teams import quotas
from sandbox.webhooks.model import event_types, signatures, urls
from sandbox.webhooks.model import faults as fault_rules
from sandbox.webhooks.model.faults import Faults
from sandbox.webhooks.model.schemas import (
    DeletedEndpoint,
    EndpointCreate,
    EndpointUpdate,
    WebhookEndpoint,
    WebhookEndpointPage,
    WebhookEndpointWithSecret,
)
from sandbox.webhooks.store import deliveries, target_policy

MAX_ENDPOINTS = 20
COLUMNS = ("id, number, url, description, events, signing, public_key, previous_key_expires_at, status,"
           " disabled_reason, faults, created_at, updated_at, kind, listener_name")


def to_api(row: asyncpg.Record) -> WebhookEndpoint:
    expires = row["previous_key_expires_at"]
    return WebhookEndpoint(
        id=row["id"],
        object="webhook_endpoint",
        url=row["url"],
        description=row["description"],
        events=event_types.decode_patterns(row["events"]),
        signing=row["signing"],
        status=row["status"],
        disabled_reason=row["disabled_reason"],
        public_key=row["public_key"],
        previous_key_expires_at=iso(expires) if expires is not None and expires > now() else None,
        faults=fault_rules.load(row["faults"]),
        created_at=iso(row["created_at"]),
        updated_at=iso(row["updated_at"]),
        kind=row["kind"],
        listener_name=row["listener_name"],
    )


def with_secret(row: asyncpg.Record, pair: signatures.KeyPair) -> WebhookEndpointWithSecret:
    return WebhookEndpointWithSecret(**msgspec.structs.asdict(to_api(row)), secret=pair.shown_secret)


def unique_patterns(patterns: list[str]) -> list[str]:
    """The patterns without repeats, in the order given (the schema allows only known ones)."""
    return list(dict.fromkeys(patterns))


def encode(value) -> str:
    return msgspec.json.encode(value).decode()


async def create(merchant_id: str, body: EndpointCreate) -> WebhookEndpointWithSecret:
    url = await urls.check(body.url, await target_policy.policy(fresh=True))
    pair = signatures.generate(body.signing)
    async with db.transaction():
        await lock_merchant(merchant_id)
        row = await insert(merchant_id, new_id("we"), url, unique_patterns(body.events), body.signing, pair,
                           description=body.description, faults=body.faults)
    await keys_changed()
    return with_secret(row, pair)


async def lock_merchant(merchant_id: str) -> None:
    """In the caller's transaction: one change to the merchant's set of endpoints at a time."""
    await db.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"webhook_endpoints:{merchant_id}")


async def insert(merchant_id: str, endpoint_id: str, url: str, patterns: list[str], signing: str,
                 pair: signatures.KeyPair, *,
                 description: str | None = None, faults: Faults | None = None, kind: str = "url",
                 listener_name: str | None = None) -> asyncpg.Record:
    """A new endpoint, in the caller's transaction (under `lock_merchant`), if the merchant
    has room for one more."""
    count = await db.fetchval(
        "SELECT count(*) FROM webhook_endpoint WHERE merchant = $1 AND deleted_at IS NULL", merchant_id)
    if count >= MAX_ENDPOINTS:
        raise Conflict(f"A merchant may have at most {MAX_ENDPOINTS} webhook endpoints; delete one first")
    await quotas.take_webhook_endpoint(merchant_id)  # its team's bound over all its merchants, listeners too
    return await db.fetchone(
        "INSERT INTO webhook_endpoint (id, merchant, url, description, events, signing, signing_key,"
        " previous_signing_key, previous_key_expires_at, public_key, status, disabled_reason, faults,"
        " delivery_seq, created_at, updated_at, deleted_at, kind, listener_name)"
        " VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, NULL, NULL, $8, 'enabled', NULL, $9::jsonb, 0, $10, $10, NULL,"
        f" $11, $12) RETURNING {COLUMNS}",
        endpoint_id, merchant_id, url, description, encode(patterns), signing, pair.signing_key,
        pair.public_key, encode(faults or Faults()), now(), kind, listener_name)


async def _row(merchant_id: str, endpoint_id: str, *, lock: bool = False) -> asyncpg.Record:
    row = await db.fetchrow(
        f"SELECT {COLUMNS}, signing_key FROM webhook_endpoint"
        " WHERE id = $1 AND merchant = $2 AND deleted_at IS NULL" + (" FOR UPDATE" if lock else ""),
        endpoint_id, merchant_id)
    if row is None:
        raise NotFound(f"No webhook endpoint {endpoint_id}")
    return row


async def get(merchant_id: str, endpoint_id: str) -> WebhookEndpoint:
    return to_api(await _row(merchant_id, endpoint_id))


async def list_page(merchant_id: str, limit: int, cursor: str | None) -> WebhookEndpointPage:
    limit = clamp(limit)
    rows = await db.fetch(
        f"SELECT {COLUMNS} FROM webhook_endpoint WHERE merchant = $1 AND deleted_at IS NULL"
        " AND ($2::bigint IS NULL OR number < $2) ORDER BY number DESC LIMIT $3",
        merchant_id, decode_cursor(cursor), limit + 1)
    page = cut(rows, limit)
    return WebhookEndpointPage(data=[to_api(r) for r in page.rows], has_more=page.has_more,
                               next_cursor=page.next_cursor)


async def update(merchant_id: str, endpoint_id: str, body: EndpointUpdate) -> WebhookEndpoint:
    patterns = unique_patterns(body.events) if body.events is not None else None
    url = await urls.check(body.url, await target_policy.policy(fresh=True)) if body.url is not None else None
    at = now()
    async with db.transaction():
        row = await _row(merchant_id, endpoint_id, lock=True)
        if url is not None and row["kind"] == "listener":
            raise ValidationFailed.field("url", "a listener endpoint has no URL: its deliveries go down its stream")
        status, reason = row["status"], row["disabled_reason"]
        if body.status == "enabled":
            status, reason = "enabled", None
        elif body.status == "disabled" and status == "enabled":
            status, reason = "disabled", "disabled by the merchant"
        row = await db.fetchone(
            "UPDATE webhook_endpoint SET url = COALESCE($2, url), events = COALESCE($3::jsonb, events),"
            " description = COALESCE($4, description), faults = COALESCE($5::jsonb, faults), status = $6,"
            f" disabled_reason = $7, updated_at = $8 WHERE id = $1 RETURNING {COLUMNS}",
            endpoint_id, url, encode(patterns) if patterns is not None else None, body.description,
            encode(body.faults) if body.faults is not None else None, status, reason, at)
        if body.status == "disabled":
            await deliveries.close_pending(endpoint_id, deliveries.FAILED, "endpoint disabled by the merchant")
    return to_api(row)


async def delete(merchant_id: str, endpoint_id: str) -> DeletedEndpoint:
    """The endpoint stops receiving; its delivery history stays readable under /events."""
    at = now()
    async with db.transaction():
        await _row(merchant_id, endpoint_id, lock=True)
        await db.execute("UPDATE webhook_endpoint SET deleted_at = $2, updated_at = $2 WHERE id = $1",
                         endpoint_id, at)
        await deliveries.close_pending(endpoint_id, deliveries.CANCELLED, "endpoint deleted")
    return DeletedEndpoint(id=endpoint_id, object="webhook_endpoint", deleted=True)


async def rotate(merchant_id: str, endpoint_id: str, grace_period_seconds: int) -> WebhookEndpointWithSecret:
    """A new key signs from now on; the current one also signs (a second signature in
    `webhook-signature`) until the grace period ends, so receivers can switch without
    dropping a webhook."""
    at = now()
    async with db.transaction():
        row = await _row(merchant_id, endpoint_id, lock=True)
        pair = signatures.generate(row["signing"])
        grace = timedelta(seconds=grace_period_seconds)
        row = await db.fetchone(
            "UPDATE webhook_endpoint SET previous_signing_key = $2, previous_key_expires_at = $3,"
            f" signing_key = $4, public_key = $5, updated_at = $6 WHERE id = $1 RETURNING {COLUMNS}",
            endpoint_id, row["signing_key"] if grace else None, at + grace if grace else None,
            pair.signing_key, pair.public_key, at)
    await keys_changed()
    return with_secret(row, pair)


async def keys_changed() -> None:
    """The merchant's cached API keys carry its signing keys (the request log redacts them
    by value): this process forgets them at the commit, so the merchant's next request
    knows the new key; the others when PostgreSQL tells them (a trigger on the keys)."""
    await db.after_commit(auth_cache.forget_all)
