"""The IPN service: receives the (simulated) bank rail's signed status callbacks at
`POST /ipn/rail` and applies them through the same scenario engine the worker uses.

401 bad or stale signature · 404 unknown psp_reference · 409 illegal transition ·
200 applied, or a duplicate `notification_id` (a no-op)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from litestar import Litestar, Request, get, post
from litestar.openapi import OpenAPIConfig

from sandbox import db, redis_client
from sandbox.core.errors import MalformedJson, Unauthenticated, ValidationFailed
from sandbox.core.problem_answers import exception_handler
from sandbox.core.strict_input import StrictRequest, decode_json, learn_query_names, refuse_unknown_query
from sandbox.core.types import whole
from sandbox.observability import logs, metrics
from sandbox.observability.observe import observe
from sandbox.payouts.lifecycle import engine
from sandbox.payouts.model import states
from sandbox.payouts.model.failures import FailureCodeName
from sandbox.rail import client as rail
from sandbox.rail import signing
from sandbox.rail.secret import rail_secret
from sandbox.runtime import shutdown as shutdown_steps
from sandbox.runtime.litestar_apps import optional_plugins_unseen
from sandbox.settings import Settings, get_settings

MAX_BODY = 64 * 1024
# Visible ASCII only: these are stored as text (PostgreSQL refuses NUL) and logged.
_VISIBLE_ASCII = whole(r"[\x21-\x7e]+", "must be visible ASCII characters, no spaces")
PspReference = Annotated[str, msgspec.Meta(min_length=1, max_length=40, pattern=_VISIBLE_ASCII)]
NotificationId = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=_VISIBLE_ASCII)]


class RailCallback(msgspec.Struct, forbid_unknown_fields=True):
    psp_reference: PspReference
    notification_id: NotificationId
    status: states.RailOutcome
    failure_code: FailureCodeName | None = None


class IpnResult(msgspec.Struct):
    notification_id: str
    result: Literal["applied", "duplicate"]
    payout_id: str | None
    status: str | None


async def apply(callback: RailCallback) -> IpnResult:
    notification = rail.Notification(psp_reference=callback.psp_reference, notification_id=callback.notification_id,
                                     status=callback.status, failure_code=callback.failure_code)
    async with db.transaction():
        row = await engine.on_rail_notification(notification)
    if row is None:
        return IpnResult(notification_id=callback.notification_id, result="duplicate", payout_id=None, status=None)
    logs.bind(payout_id=row.id, merchant_id=row.merchant)
    return IpnResult(notification_id=callback.notification_id, result="applied", payout_id=row.id,
                     status=row.status)


@post("/ipn/rail", operation_id="railCallback", status_code=200)
async def rail_callback(request: Request) -> IpnResult:
    body = await request.body()
    try:
        signing.verify(rail_secret(), body, request.headers.get(signing.HEADER))
    except signing.BadSignature as exc:
        raise Unauthenticated(str(exc)) from None
    try:
        # Read one way, as every API body is (a key twice refused: sandbox/core/strict_input.py).
        callback = msgspec.convert(decode_json(body), RailCallback)
    except msgspec.ValidationError as exc:
        raise ValidationFailed(str(exc)) from None  # says which field, e.g. "- at `$.failure_code`"
    except UnicodeDecodeError as exc:  # bytes inside a string that are not UTF-8
        raise MalformedJson(str(exc)) from None
    return await apply(callback)


@get("/health", operation_id="ipnHealth")
async def health() -> dict[str, str]:
    return {"status": "ok"}


def create_app(settings: Settings | None = None) -> Litestar:
    given, settings = settings, settings or get_settings()
    logs.configure(settings.log_format or "json", settings.log_level)
    # IPN requests join the API's latency histogram in Redis (route `/ipn/rail`).
    flusher = metrics.Flusher(settings.metrics_flush_s)

    async def startup() -> None:
        # The servers' URLs as they are when the app starts serving: `sandbox up` builds it
        # before its servers are up (sandbox/runtime/serving.py).
        servers = given or get_settings()
        if not servers.database_url or not servers.redis_url:
            raise RuntimeError("SANDBOX_DATABASE_URL and SANDBOX_REDIS_URL must be set for `sandbox ipn`")
        db.configure(servers.database_url)
        await db.start(settings.db_pool_min, settings.db_pool_max, settings.db_statement_timeout_s)
        await redis_client.start(servers.redis_url)
        rail_secret()
        flusher.start()

    async def shutdown() -> None:
        await shutdown_steps.in_turn(
            ("the last metrics flush", flusher.stop),
            ("the Redis client", redis_client.stop),
            ("the database pool", db.stop),
        )

    with optional_plugins_unseen():  # as the API does (sandbox/runtime/litestar_apps.py)
        app = Litestar(
            route_handlers=[rail_callback, health],
            on_startup=[startup],
            on_shutdown=[shutdown],
            exception_handlers={Exception: exception_handler},
            request_class=StrictRequest,
            before_request=refuse_unknown_query,  # no route here takes a query parameter
            logging_config=None,  # ours (sandbox/observability/logs.py); Litestar's default would replace it
            request_max_body_size=MAX_BODY,
            openapi_config=OpenAPIConfig(title="MyPay Sandbox IPN", version="1.0.0", path="/schema"),
        )
    learn_query_names(app)
    observe(app)
    return app
