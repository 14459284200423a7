"""The receiver audit: send an endpoint the battery (`audit_cases`), one case at a time,
through the delivery path's HTTP client (its SSRF policy, timeouts and no redirects),
judge each answer, and record the run.

Bounded: each case waits at most SANDBOX_WEBHOOK_AUDIT_CASE_TIMEOUT_S (5 s) and the
battery stops sending once SANDBOX_WEBHOOK_AUDIT_BUDGET_S (30 s) is spent, so a hanging
receiver costs about 30 s; cases not sent then are failed as such. One audit runs at a
time per endpoint: a transaction-scoped advisory lock, released however the request ends
(it does not lock the endpoint row, so deliveries go on meanwhile); a second audit meanwhile
is refused with 409 `audit_in_progress`."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import asyncpg
import msgspec
from litestar import Request

from sandbox import db
from sandbox.core.clock import iso
from sandbox.core.errors import ApiError, NotFound, RateLimited
from sandbox.core.ids import new_id
from sandbox.core.pagination import clamp, cut, decode_cursor
from sandbox.settings import Settings, get_settings
from sandbox.webhooks.audit.audit_cases import EVERY_CASE, Battery, sent_to
from sandbox.webhooks.audit.audit_verdict import judged, tally
from sandbox.webhooks.delivery import sender
from sandbox.webhooks.model.event_types import decode_patterns
from sandbox.webhooks.model.schemas import AuditCase, WebhookAudit, WebhookAuditPage
from sandbox.webhooks.store import target_policy
from sandbox.webhooks.store.deliveries import signing_keys


class AuditInProgress(ApiError):
    status, code, title = 409, "audit_in_progress", "An audit of this endpoint is running"


COLUMNS = ("id, number, endpoint, url, signing, passed, case_count, failed_count, case_timeout_s, cases,"
           " started_at, finished_at")
_cases = msgspec.json.Decoder(list[AuditCase])


def to_api(row: asyncpg.Record) -> WebhookAudit:
    started, finished = row["started_at"], row["finished_at"]
    return WebhookAudit(
        id=row["id"], object="webhook_audit", endpoint_id=row["endpoint"], url=row["url"], signing=row["signing"],
        passed=row["passed"], case_count=row["case_count"], failed_count=row["failed_count"],
        case_timeout_s=row["case_timeout_s"], started_at=iso(started), finished_at=iso(finished),
        duration_ms=round((finished - started).total_seconds() * 1000), cases=_cases.decode(row["cases"]))


async def _endpoint(merchant_id: str, endpoint_id: str) -> asyncpg.Record:
    row = await db.fetchrow(
        "SELECT id, url, signing, events, signing_key, previous_signing_key, previous_key_expires_at FROM"
        " webhook_endpoint"
        " WHERE id = $1 AND merchant = $2 AND deleted_at IS NULL", endpoint_id, merchant_id)
    if row is None:
        raise NotFound(f"No webhook endpoint {endpoint_id}")
    return row


async def count_requests(request: Request) -> None:
    """The audit sends one request per case on the merchant's behalf: each counts against
    its rate limit, as its own requests do (the audit is no way to send more). Counted
    before the endpoint is read: as the most cases an endpoint gets."""
    limiter = request.app.state.rate_limiter
    try:
        await limiter.count(request.scope["state"]["principal"], cost=len(EVERY_CASE))
    except RateLimited as exc:
        exc.detail += f" (an audit counts as the {len(EVERY_CASE)} requests it sends at most, besides itself)"
        raise


async def run(merchant_id: str, endpoint_id: str) -> WebhookAudit:
    """Run the battery against the endpoint and record it. Holds one pooled connection
    (the lock's transaction) while the requests are out, at most the budget."""
    settings = get_settings()
    async with db.transaction():
        endpoint = await _endpoint(merchant_id, endpoint_id)
        if not await db.fetchval("SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0))",
                                 f"webhook_audit:{endpoint_id}"):
            raise AuditInProgress(f"An audit of {endpoint_id} is running; ask again when it has answered")
        started = datetime.now(UTC)
        cases = await _send(_battery(endpoint, started), settings)
        all_passed, failed = tally(cases)
        row = await db.fetchone(
            "INSERT INTO webhook_audit (id, merchant, endpoint, url, signing, passed, case_count, failed_count,"
            " case_timeout_s, cases, started_at, finished_at)"
            f" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, $12) RETURNING {COLUMNS}",
            new_id("wha"), merchant_id, endpoint_id, endpoint["url"], endpoint["signing"], all_passed, len(cases),
            failed, settings.webhook_audit_case_timeout_s, msgspec.json.encode(cases).decode(), started,
            datetime.now(UTC))
    return to_api(row)


def _battery(endpoint: asyncpg.Record, at: datetime) -> Battery:
    """Signed as a delivery at `at` is (the current key, and the previous one in its grace
    period); the previous key, once its grace period is over, kept for the case that sends
    it alone."""
    keys = signing_keys(endpoint, at)
    retired = endpoint["previous_signing_key"] if endpoint["previous_signing_key"] and len(keys) == 1 else None
    return Battery(endpoint["url"], keys, at, retired_key=retired, events=decode_patterns(endpoint["events"]))


async def _send(battery: Battery, settings: Settings) -> list[AuditCase]:
    """Every case in order, each built just before it is sent (the duplicate repeats the
    valid event's request as it was)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + settings.webhook_audit_budget_s
    verdicts: list[AuditCase] = []
    # The audit's few requests stay on httpx, whichever client the worker's pool uses.
    from sandbox.webhooks.delivery import httpx_client  # an audit's own client, made when one runs

    async with httpx_client.build(settings) as http:
        for case in sent_to(battery):
            left = deadline - loop.time()
            if left <= 0:
                verdicts.append(judged(case, None, f"not sent: the audit's {settings.webhook_audit_budget_s:g} s "
                                                     "budget was spent on slower cases", None))
                continue
            timeout = min(settings.webhook_audit_case_timeout_s, left)
            request = case.build(battery)
            await target_policy.keep_fresh()  # what the client's refusal of private addresses reads
            started = time.perf_counter()
            try:
                async with asyncio.timeout(timeout):
                    record = await sender.post_once(http, battery.url, request.content, request.headers,
                                                    battery.timestamp)
            except TimeoutError:
                verdicts.append(judged(case, None, f"no answer within {round(timeout, 2):g} s",
                                         round((time.perf_counter() - started) * 1000)))
                continue
            verdicts.append(judged(case, record.status_code, record.error, record.latency_ms))
    return verdicts


async def get(merchant_id: str, endpoint_id: str, audit_id: str) -> WebhookAudit:
    row = await db.fetchrow(
        f"SELECT {COLUMNS} FROM webhook_audit WHERE id = $1 AND endpoint = $2 AND merchant = $3",
        audit_id, endpoint_id, merchant_id)
    if row is None:
        raise NotFound(f"No audit {audit_id} of webhook endpoint {endpoint_id}")
    return to_api(row)


async def list_page(merchant_id: str, endpoint_id: str, limit: int, cursor: str | None) -> WebhookAuditPage:
    await _endpoint(merchant_id, endpoint_id)
    limit = clamp(limit)
    rows = await db.fetch(
        f"SELECT {COLUMNS} FROM webhook_audit WHERE endpoint = $1 AND merchant = $2"
        " AND ($3::bigint IS NULL OR number < $3) ORDER BY number DESC LIMIT $4",
        endpoint_id, merchant_id, decode_cursor(cursor), limit + 1)
    page = cut(rows, limit)
    return WebhookAuditPage(data=[to_api(r) for r in page.rows], has_more=page.has_more,
                            next_cursor=page.next_cursor)


async def latest(merchant_id: str, endpoint_ids: list[str]) -> dict[str, WebhookAudit]:
    """Each endpoint's latest audit, for the dashboard's scorecards."""
    rows = await db.fetch(
        f"SELECT DISTINCT ON (endpoint) {COLUMNS} FROM webhook_audit WHERE merchant = $1"
        " AND endpoint = ANY($2::varchar[]) ORDER BY endpoint, number DESC", merchant_id, endpoint_ids)
    return {r["endpoint"]: to_api(r) for r in rows}
