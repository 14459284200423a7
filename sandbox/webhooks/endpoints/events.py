"""The event log and its deliveries: list and read events, every attempt of every
delivery, and resending an event."""

from __future__ import annotations

import asyncpg
import msgspec

from sandbox import db
from sandbox.core.clock import iso, wall_now
from sandbox.core.errors import Conflict, NotFound
from sandbox.core.pagination import clamp, cut, decode_cursor
from sandbox.events import wakeups
from sandbox.idempotency.cause import RequestCause
from sandbox.webhooks.model import event_types
from sandbox.webhooks.model.schemas import Attempt, Delivery, DeliveryPage, Event, EventPage, ResendAccepted
from sandbox.webhooks.store import deliveries
from sandbox.webhooks.store.deliveries import NewDelivery

EVENT_COLUMNS = "id, number, merchant, type, payout_id, data, request, created_at, sequence"
_decode_request = msgspec.json.Decoder(RequestCause | None)
_decode_faults = msgspec.json.Decoder(list[str])


def _iso(moment) -> str | None:
    return iso(moment) if moment is not None else None


def event_to_api(row: asyncpg.Record) -> Event:
    return Event(id=row["id"], object="event", type=row["type"], payout_id=row["payout_id"],
                 created_at=iso(row["created_at"]), sequence=row["sequence"], data=msgspec.json.decode(row["data"]),
                 request=_decode_request.decode(row["request"]) if row["request"] is not None else None)


async def list_page(merchant_id: str, *, limit: int, cursor: str | None, type_pattern: str | None,
                    payout_id: str | None) -> EventPage:
    limit = clamp(limit)
    rows = await db.fetch(
        f"SELECT {EVENT_COLUMNS} FROM outbox_event WHERE merchant = $1 AND ($2::bigint IS NULL OR number < $2)"
        " AND ($3::text IS NULL OR type LIKE $3) AND ($4::varchar IS NULL OR payout_id = $4)"
        " ORDER BY number DESC LIMIT $5",
        merchant_id, decode_cursor(cursor), event_types.like(type_pattern) if type_pattern else None, payout_id,
        limit + 1)
    page = cut(rows, limit)
    return EventPage(data=[event_to_api(r) for r in page.rows], has_more=page.has_more, next_cursor=page.next_cursor)


async def _event_row(merchant_id: str, event_id: str) -> asyncpg.Record:
    row = await db.fetchrow(f"SELECT {EVENT_COLUMNS} FROM outbox_event WHERE id = $1 AND merchant = $2",
                            event_id, merchant_id)
    if row is None:
        raise NotFound(f"No event {event_id}")
    return row


async def get(merchant_id: str, event_id: str) -> Event:
    return event_to_api(await _event_row(merchant_id, event_id))


_DELIVERY_SQL = """
SELECT d.id, d.number, d.event, d.endpoint, e.url, d.generation, d.status, d.attempts, d.next_attempt_at,
       d.last_status_code, d.last_error, d.created_at, d.completed_at
  FROM webhook_delivery d JOIN webhook_endpoint e ON e.id = d.endpoint
"""


async def _with_attempts(rows: list[asyncpg.Record]) -> list[Delivery]:
    attempts: dict[str, list[Attempt]] = {r["id"]: [] for r in rows}
    if rows:
        for a in await db.fetch(
                "SELECT delivery, number, at, webhook_timestamp, status_code, latency_ms, error, response_excerpt,"
                " faults, next_retry_at FROM webhook_attempt WHERE delivery = ANY($1::varchar[]) ORDER BY id",
                list(attempts)):
            attempts[a["delivery"]].append(Attempt(
                number=a["number"], at=iso(a["at"]), webhook_timestamp=a["webhook_timestamp"],
                status_code=a["status_code"], latency_ms=a["latency_ms"], error=a["error"],
                response_excerpt=a["response_excerpt"], faults=_decode_faults.decode(a["faults"]),
                next_retry_at=_iso(a["next_retry_at"])))
    return [
        Delivery(id=r["id"], object="webhook_delivery", event_id=r["event"], endpoint_id=r["endpoint"], url=r["url"],
                 resend=r["generation"] > 0, status=r["status"], attempt_count=r["attempts"],
                 next_attempt_at=_iso(r["next_attempt_at"]), last_status_code=r["last_status_code"],
                 last_error=r["last_error"], created_at=iso(r["created_at"]), completed_at=_iso(r["completed_at"]),
                 attempts=attempts[r["id"]])
        for r in rows
    ]


async def deliveries_page(merchant_id: str, event_id: str, *, limit: int, cursor: str | None) -> DeliveryPage:
    """Oldest first, each with every attempt made so far."""
    await _event_row(merchant_id, event_id)
    limit = clamp(limit)
    rows = await db.fetch(
        _DELIVERY_SQL + " WHERE d.event = $1 AND d.merchant = $2 AND ($3::bigint IS NULL OR d.number > $3)"
        " ORDER BY d.number LIMIT $4",
        event_id, merchant_id, decode_cursor(cursor, "d"), limit + 1)
    page = cut(rows, limit, "d")
    return DeliveryPage(data=await _with_attempts(page.rows), has_more=page.has_more, next_cursor=page.next_cursor)


async def resend(merchant_id: str, event_id: str, endpoint_id: str | None) -> ResendAccepted:
    """A new delivery (same `webhook-id`) to one endpoint, or to every enabled endpoint
    whose filter matches; attempted by the worker once this commits. Due at real time: a
    request of a merchant on a manual clock follows that clock, which may stand hours ahead."""
    at = wall_now()
    async with db.transaction():
        event = await _event_row(merchant_id, event_id)
        if endpoint_id is not None:
            endpoints = await deliveries.lock_endpoints("id = $1 AND merchant = $2 AND deleted_at IS NULL",
                                                        endpoint_id, merchant_id)
            if not endpoints:
                raise NotFound(f"No webhook endpoint {endpoint_id}")
            if endpoints[0]["status"] != "enabled":
                raise Conflict(f"Webhook endpoint {endpoint_id} is disabled; enable it first")
        else:
            endpoints = [
                e for e in await deliveries.lock_endpoints(
                    "merchant = $1 AND status = 'enabled' AND deleted_at IS NULL", merchant_id)
                if event_types.matches_any(event_types.decode_patterns(e["events"]), event["type"])
            ]
            if not endpoints:
                raise Conflict(f"No enabled webhook endpoint subscribes to {event['type']}")
        generations = {endpoint: generation for endpoint, generation in await db.fetch(
            "SELECT endpoint, max(generation) FROM webhook_delivery WHERE event = $1"
            " AND endpoint = ANY($2::varchar[]) GROUP BY endpoint",
            event_id, [e["id"] for e in endpoints])}
        new = [NewDelivery(event, e, generations.get(e["id"], 0) + 1) for e in endpoints]
        _, scheduled = await deliveries.create(new, at, lease=0)
        for delivery_id, due in scheduled:
            await db.after_commit(_scheduler(delivery_id, due))
        rows = await db.fetch(_DELIVERY_SQL + " WHERE d.id = ANY($1::varchar[]) ORDER BY d.number",
                              [d for d, _ in scheduled])
        made = await _with_attempts(rows)
    return ResendAccepted(event_id=event_id, deliveries=made)


def _scheduler(delivery_id: str, due):
    async def schedule() -> None:
        await wakeups.schedule_attempt(delivery_id, 1, due)
    return schedule
