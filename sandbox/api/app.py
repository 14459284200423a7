"""The API application: Litestar, everything under /api/v1, OpenAPI at /schema."""

from __future__ import annotations

from collections.abc import Collection
from functools import partial

from litestar import Litestar, Router
from litestar.datastructures import State
from litestar.middleware.base import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin
from litestar.openapi.spec import Components, OpenAPI, OpenAPIHeader, Parameter, Schema, SecurityScheme
from litestar.openapi.spec.enums import OpenAPIType
from litestar.routes import HTTPRoute

from sandbox import db, redis_client
from sandbox.admin.controllers import AdminPayoutController
from sandbox.api import openapi_errors, openapi_spec
from sandbox.api.gate import Gate
from sandbox.api.openapi_links import add_links
from sandbox.auth import cache as auth_cache
from sandbox.batches.controllers import PayoutBatchController
from sandbox.core import heap
from sandbox.core.problem_answers import exception_handler, on_problem
from sandbox.core.strict_input import StrictRequest, learn_query_names, refuse_unknown_query
from sandbox.coverage import service as coverage
from sandbox.coverage.controllers import CoverageController
from sandbox.dashboard import controllers as dashboard
from sandbox.directory.controllers import DirectoryController
from sandbox.faults.controllers import FaultRuleController
from sandbox.health import metrics as health_metrics
from sandbox.health.controllers import HealthController
from sandbox.idempotency import body as request_bodies
from sandbox.idempotency import paying
from sandbox.idempotency.claims import READ_ONLY, IdempotencyMiddleware
from sandbox.idempotency.effect_log import on_effect
from sandbox.ledger.controllers import BalanceController
from sandbox.observability import logs, metrics
from sandbox.observability.observe import observe
from sandbox.pact import controllers as pact
from sandbox.payouts.api.controllers import PayoutController
from sandbox.payouts.api.verification_controller import VerifyAccountController
from sandbox.payouts.store import metrics as payout_metrics
from sandbox.ratelimits.controllers import RateLimitController
from sandbox.ratelimits.limiter import RateLimitMiddleware
from sandbox.requests import journal, writer
from sandbox.requests.controllers import RequestLogController
from sandbox.retention import metrics as retention_metrics
from sandbox.retention.controllers import RetentionController
from sandbox.rotation.controllers import MerchantKeyController, TeamKeyController
from sandbox.runtime import shutdown as shutdown_steps
from sandbox.runtime.litestar_apps import optional_plugins_unseen
from sandbox.scenarios.controllers import ScenarioController
from sandbox.settings import Settings, get_settings
from sandbox.settlements.controllers import CollectionController, SettlementController
from sandbox.simulator.clock_controllers import ClockController
from sandbox.simulator.controllers import SandboxToolsController
from sandbox.summary.controllers import BalanceSummaryController
from sandbox.teams import metrics as team_metrics
from sandbox.teams.controllers import TeamController
from sandbox.verdicts.controllers import GateController
from sandbox.webhooks.api.controllers import EventController, WebhookEndpointController
from sandbox.webhooks.api.listener_controllers import WebhookListenerController
from sandbox.webhooks.store import metrics as webhook_metrics

API_PREFIX = "/api/v1"
VERSION = "1.0.0"


def _closed_request_bodies(schema) -> None:
    """Request bodies refuse unknown fields (msgspec `forbid_unknown_fields`); say so in
    the spec with `additionalProperties: false`, nested objects included."""
    components = (schema.components.schemas or {}) if schema.components else {}
    seen: set[str] = set()

    def close(node) -> None:
        if node is None:
            return
        ref = getattr(node, "ref", None)
        if ref:
            name = ref.rsplit("/", 1)[-1]
            if name in seen or name not in components:
                return
            seen.add(name)
            node = components[name]
        for sub in (getattr(node, "one_of", None) or []) + (getattr(node, "any_of", None) or []):
            close(sub)
        close(getattr(node, "items", None))  # a list's items: a scenario's steps
        if getattr(node, "properties", None):
            node.additional_properties = False
            for prop in node.properties.values():
                close(prop)

    for item in (schema.paths or {}).values():
        for method in ("post", "put", "patch", "delete"):
            op = getattr(item, method, None)
            body = getattr(op, "request_body", None) if op else None
            for media in ((body.content or {}).values() if body is not None else []):
                close(media.schema)


def _document_headers(schema: OpenAPI, read_only: frozenset[str] = frozenset(),
                      faulted: Collection[str] = ()) -> None:
    """Document the headers the middleware handles: the idempotency key on every
    mutating route but the `read_only` operations, X-Request-ID on every response,
    Retry-After on every 429 and 503; and on the `faulted` operations (those a fault rule
    can reach) the faults that have no status of their own."""
    _closed_request_bodies(schema)
    add_links(schema)
    key_param = Parameter(
        name="X-Idempotency-Key",
        param_in="header",
        required=True,
        description="Unique per intended operation; retries reuse it. `Idempotency-Key` is accepted too.",
        schema=Schema(type=OpenAPIType.STRING, min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$"),
    )
    request_id = OpenAPIHeader(schema=Schema(type=OpenAPIType.STRING), description="Echoed or generated request id")
    retry_after = OpenAPIHeader(schema=Schema(type=OpenAPIType.STRING, pattern="^[0-9]+$"), required=True,
                                description="Seconds to wait before trying again")
    for path, item in (schema.paths or {}).items():
        for method in ("get", "post", "put", "patch", "delete"):
            op = getattr(item, method, None)
            if op is None:
                continue
            if method != "get" and path.startswith(API_PREFIX) and op.operation_id not in read_only:
                op.parameters = [*(op.parameters or []), key_param]
            if op.operation_id in faulted:
                op.description = f"{op.description}\n\n{openapi_errors.FAULT_WORDS}" if op.description \
                    else openapi_errors.FAULT_WORDS
            for status, response in (op.responses or {}).items():
                if hasattr(response, "headers"):
                    extra = {"Retry-After": retry_after} if str(status) in ("429", "503") else {}
                    response.headers = {**(response.headers or {}), "X-Request-ID": request_id, **extra}


def _fix_options_allow(app: Litestar) -> None:
    """Litestar's automatic OPTIONS handler keeps the route object it was first made for;
    when a path's handlers are merged into a new route, its `Allow` header misses methods
    (e.g. `OPTIONS, POST` on /payouts). Point each one at the final route."""
    for route in app.routes:
        if isinstance(route, HTTPRoute) and "OPTIONS" in route.route_handler_map:
            fn = route.route_handler_map["OPTIONS"][0].fn
            if fn.__name__ == "options_handler" and fn.__closure__:
                fn.__closure__[0].cell_contents = route


def create_served_app() -> Litestar:
    """The app as `sandbox api` serves it (uvicorn's factory, in each worker process):
    built, then its start-up objects frozen out of the garbage collector's full passes."""
    app = create_app()
    heap.freeze_startup_objects()
    return app


def create_app(settings: Settings | None = None) -> Litestar:
    given, settings = settings, settings or get_settings()
    # Here rather than in the CLI: with several uvicorn workers each process builds its
    # app, after uvicorn configured its own logging.
    logs.configure(settings.log_format or "json", settings.log_level)
    request_bodies.use_spool_dir(settings.upload_dir)  # large uploads' spool (sandbox/idempotency/body.py)
    flusher = metrics.Flusher(settings.metrics_flush_s)
    on_problem(coverage.count_error)  # error codes per merchant, for GET /sandbox/coverage
    # Each domain adds its own numbers to /metrics; core knows none of them.
    metrics.register(payout_metrics.collect)
    metrics.register(webhook_metrics.collect)
    metrics.register(team_metrics.collect)
    metrics.register(retention_metrics.collect)
    metrics.register(health_metrics.collect)
    on_effect(journal.JOURNAL)  # a mutating request's log entry commits with its effect

    async def startup() -> None:
        # The servers' URLs as they are when the app starts serving: `sandbox up` builds it
        # before its servers are up (sandbox/runtime/serving.py).
        servers = given or get_settings()
        if not servers.database_url or not servers.redis_url:
            raise RuntimeError(
                "SANDBOX_DATABASE_URL and SANDBOX_REDIS_URL must be set for `sandbox api`; "
                "`sandbox up` sets them (and starts embedded servers when they are unset)."
            )
        db.configure(servers.database_url)
        await db.start(settings.db_pool_min, settings.db_pool_max, settings.db_statement_timeout_s)
        await redis_client.start(servers.redis_url)
        auth_cache.CACHE.start(servers.database_url)
        flusher.start()

    async def shutdown() -> None:
        await shutdown_steps.in_turn(
            ("the last metrics flush", flusher.stop),
            ("the request log's last writes", writer.WRITER.close),
            ("the rate limiter's connections", rate_limiter.close),
            ("the auth cache's listener", auth_cache.CACHE.stop),
            ("the Redis client", redis_client.stop),
            ("the database pool", db.stop),
        )

    rate_limiter = RateLimitMiddleware(settings.rate_limit)
    public = Router(path=API_PREFIX, route_handlers=[HealthController], security=[])
    authenticated = Router(
        path=API_PREFIX,
        route_handlers=[PayoutController, BalanceController, DirectoryController, VerifyAccountController,
                        SandboxToolsController, ScenarioController,
                        AdminPayoutController, WebhookEndpointController, EventController,
                        BalanceSummaryController, RateLimitController, CollectionController,
                        SettlementController, PayoutBatchController, CoverageController, ClockController,
                        RequestLogController, FaultRuleController, GateController, WebhookListenerController,
                        TeamController, RetentionController, TeamKeyController, MerchantKeyController],
        # Authentication, the request log and its faults, rate limit and idempotency, in
        # one layer (gate.py). A merchant's request works at its clock's time from there
        # (the request log's `begin` follows the clock, sandbox/requests/journal.py).
        middleware=[DefineMiddleware(Gate, rate_limiter=rate_limiter,
                                     idempotency=IdempotencyMiddleware(max_body_bytes=settings.max_body_bytes))],
        security=[{"apiKey": []}],
    )
    with optional_plugins_unseen():
        app = Litestar(
            # The dashboard's pages are left out of the OpenAPI spec (include_in_schema=False).
            # /metrics (Prometheus) is left out of the spec too; see sandbox/observability/metrics.py.
            route_handlers=[public, authenticated, pact.router(API_PREFIX), *dashboard.routers(rate_limiter),
                            metrics.metrics_endpoint],
            # Routes that act many times on the merchant's behalf count that too (the receiver audit).
            state=State({"rate_limiter": rate_limiter}),
            template_config=dashboard.template_config(),
            on_startup=[startup],
            on_shutdown=[shutdown],
            exception_handlers={Exception: exception_handler},
            # A JSON body read one way (a key twice is refused), a query only with the
            # names the route declares (sandbox/core/strict_input.py).
            request_class=StrictRequest,
            before_request=refuse_unknown_query,
            # Logging is ours (sandbox/observability/logs.py); Litestar's default config would replace it.
            logging_config=None,
            request_max_body_size=settings.max_body_bytes,
            openapi_config=OpenAPIConfig(
                title="MyPay Sandbox API",
                version=VERSION,
                description="A mock payment service provider for payouts. Amounts are decimal strings in PKR.",
                path="/schema",
                render_plugins=[ScalarRenderPlugin()],
                components=Components(
                    security_schemes={
                        "apiKey": SecurityScheme(type="apiKey", name="X-API-KEY", security_scheme_in="header")
                    }
                ),
            ),
            debug=False,
        )
    learn_query_names(app, under=API_PREFIX)
    paying.learn(app)  # the retries verdict reads which routes can pay from their declarations
    read_only = frozenset(str(handler.operation_id) for route in app.routes if isinstance(route, HTTPRoute)
                          for handler in route.route_handlers if handler.opt.get(READ_ONLY))
    faulted: set[str] = set()  # filled by `prepare`, before `adjust` runs
    openapi_spec.publish_on_first_use(app, adjust=partial(_document_headers, read_only=read_only, faulted=faulted),
                                      prepare=lambda: faulted.update(openapi_errors.document(app)))
    _fix_options_allow(app)
    observe(app)
    return app
