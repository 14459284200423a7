"""The dashboard at /dashboard: server-rendered pages for QA and integrators.

Thin handlers: read through the services, act through the same service functions as
the API, render a template. Signed in by API key (kept in the session cookie, see
`session`); every POST carries the CSRF token. Not part of the OpenAPI spec."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from litestar import Request, Router, get, post
from litestar.datastructures import CacheControlHeader, ResponseHeader
from litestar.di import Provide
from litestar.params import FromPath, Parameter
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from sandbox.admin import service as admin_service
from sandbox.auth.keys import authenticate
from sandbox.core.errors import ApiError, NotFound, Unauthenticated
from sandbox.dashboard import batches, filters, forms, pages, queries, requests, scenario_editor, views, webhooks
from sandbox.dashboard import session as sessions
from sandbox.dashboard.pages import HOME, LOGIN, Me, fragment, page
from sandbox.dashboard.views import Viewer
from sandbox.directory import service as directory
from sandbox.idempotency.claims import IdempotencyMiddleware
from sandbox.idempotency.paying import MAKES_A_PAYOUT, SENDS_A_PAYOUT_AGAIN
from sandbox.ledger import service as ledger
from sandbox.payouts.lifecycle import actions
from sandbox.payouts.lifecycle import service as payouts
from sandbox.payouts.model import scenarios, states
from sandbox.payouts.model import views as payout_views
from sandbox.payouts.model.scenarios import Scenario
from sandbox.payouts.store import own_scenarios
from sandbox.ratelimits.limiter import RateLimitMiddleware
from sandbox.settings import get_settings
from sandbox.summary import service as balance_summary

HERE = Path(__file__).resolve().parent
PAGE_SIZE = 25

PayoutId = Annotated[str, Parameter(max_length=64)]
Query = Annotated[str | None, Parameter(max_length=200)]


# --- sign-in -----------------------------------------------------------------------------------


@get("/login")
async def login_page(request: Request) -> Template | Redirect:
    if sessions.of(request).key:
        return Redirect(HOME)
    return page(request, "login.html", None)


@post("/login")
async def login(request: Request) -> Template | Redirect:
    key = ((await request.form()).get("api_key") or "").strip()
    if not key:
        return page(request, "login.html", None, status=400, error="Paste an API key to sign in")
    try:
        await authenticate(key)
    except Unauthenticated as exc:
        return page(request, "login.html", None, status=401,
                    error=f"{exc.detail}: keys look like sk_test_… (merchant) or sk_admin_… (admin)")
    sessions.of(request).sign_in(key)
    return Redirect(HOME, status_code=303)


@post("/logout")
async def logout(request: Request) -> Redirect:
    session = sessions.of(request)
    await session.end()
    session.flash("ok", "Signed out")
    return Redirect(LOGIN, status_code=303)


# --- merchant overview, ledger, top-up ---------------------------------------------------------


@get("/")
async def home(request: Request, viewer: Me) -> Template:
    if viewer.is_admin:
        return await _review(request, viewer)
    merchant_id = pages.merchant_only(viewer)
    balance = await ledger.get_balance(merchant_id)
    entries = await ledger.history(merchant_id, since_seq=None, before_seq=None, limit=10)
    recent = await payouts.list_page(merchant_id, limit=8, cursor=None)
    summary = await balance_summary.summary(merchant_id)
    return page(request, "home.html", viewer, balance=balance, entries=entries[:10], more_entries=len(entries) > 10,
                listing=recent, rows_url="/dashboard/payouts/rows?limit=8", totals=views.totals(summary.totals),
                computed_at=summary.computed_at)


@get("/ledger")
async def ledger_page(request: Request, viewer: Me,
                      before: Annotated[int | None, Parameter(ge=1, le=2**62)] = None) -> Template:
    merchant_id = pages.merchant_only(viewer)
    rows = await ledger.history(merchant_id, since_seq=None, before_seq=before, limit=50)
    return page(request, "ledger.html", viewer, entries=rows[:50], older=rows[49]["seq"] if len(rows) > 50 else None)


@post("/topups")
async def topup(request: Request, viewer: Me) -> Redirect:
    merchant_id = pages.merchant_only(viewer)
    session = sessions.of(request)
    try:
        amount = forms.topup_amount(await request.form())
        posted = await ledger.post(merchant_id, "topup", amount)
        session.flash("ok", f"Added {filters.money(amount)}: available is now {filters.money(posted.available)}")
    except (ApiError, forms.FormError) as exc:
        session.flash("error", "Top-up not made: " + "; ".join(forms.messages_of(exc)))
    return Redirect(HOME, status_code=303)


# --- payouts -----------------------------------------------------------------------------------


async def _listing(viewer: Viewer, status: str | None, reference: str | None, merchant: str | None,
                   cursor: str | None, limit: int):
    status = states.parse_filter(status)
    if viewer.is_admin:
        return await admin_service.list_payouts(limit=limit, cursor=cursor, status=status, created_gte=None,
                                                created_lte=None, merchant_id=merchant or None, team=viewer.team)
    return await payouts.list_page(pages.merchant_only(viewer), limit=limit, cursor=cursor, status=status,
                                   reference=reference or None)


@get("/payouts")
async def payout_list(request: Request, viewer: Me, status: Query = None, reference: Query = None,
                      merchant: Query = None, cursor: Query = None) -> Template:
    listing = await _listing(viewer, status, reference, merchant, cursor, PAGE_SIZE)
    return page(request, "payouts.html", viewer, listing=listing, statuses=states.STATUSES,
                filters={"status": status or "", "reference": reference or "", "merchant": merchant or ""},
                rows_url="/dashboard/payouts/rows?" + request.url.query if request.url.query
                else "/dashboard/payouts/rows")


@get("/payouts/rows")
async def payout_rows(request: Request, viewer: Me, status: Query = None, reference: Query = None,
                      merchant: Query = None, cursor: Query = None,
                      limit: Annotated[int, Parameter(ge=1, le=100)] = PAGE_SIZE) -> Template:
    listing = await _listing(viewer, status, reference, merchant, cursor, limit)
    return fragment(request, "payout_rows.html", viewer, listing=listing)


async def _own(viewer: Viewer) -> list[Scenario]:
    """The merchant's own scenarios, asked for only when its key says it has any (as POST
    /payouts does: a scenario made or deleted refreshes the key at once)."""
    merchant_id = pages.merchant_only(viewer)
    return await own_scenarios.of_merchant(merchant_id) if viewer.principal.custom_scenarios else []


async def _payout_form(request: Request, viewer: Viewer, values: dict[str, str], own: list[Scenario],
                       errors: list[str] | None = None, status: int = 200) -> Template:
    book, table = await directory.get(), scenarios.table()
    return page(request, "new_payout.html", viewer, status=status, values=values, errors=errors or [],
                banks=book.banks, wallets=book.wallets, table=table, own=own,
                samples=forms.sample_suffixes([*table.scenarios, *own]), path="/dashboard/payouts/new")


@get("/payouts/new")
async def new_payout(request: Request, viewer: Me, scenario: Query = None) -> Template:
    table, own = scenarios.table(), await _own(viewer)
    chosen = table.named(scenario or "", own) or table.by_name(table.default)
    suffix = forms.sample_suffixes([*table.scenarios, *own])[chosen.name]
    values = {"amount": "1500.00", "destination": "bank:HBL", "account_title": "Ali Raza", "scenario": chosen.name,
              "account_number": forms.sample_account("bank", suffix)}
    return await _payout_form(request, viewer, values, own)


@post("/payouts", opt=MAKES_A_PAYOUT)
async def create_payout(request: Request, viewer: Me) -> Template | Redirect:
    merchant_id = pages.merchant_only(viewer)
    form = await request.form()
    own = await _own(viewer)
    try:
        body = forms.payout_create(form, forms.sample_suffixes([*scenarios.table().scenarios, *own]))
        payout = await payouts.create(merchant_id, body, own=own)
    except (ApiError, forms.FormError) as exc:
        status = exc.status if isinstance(exc, ApiError) else 400
        return await _payout_form(request, viewer, dict(form), own, forms.messages_of(exc), status)
    sessions.of(request).flash("ok", f"Payout created; it follows the {payout.scenario} scenario")
    return Redirect(f"/dashboard/payouts/{quote(payout.id)}", status_code=303)


async def _payout_context(viewer: Viewer, payout_id: str) -> dict[str, Any]:
    # A merchant asks for its own payouts only: another merchant's is NotFound, a 404 page.
    row = await payouts.get_row(payout_id, viewer.merchant_id, team=viewer.team)
    payout, followed = payout_views.to_api(row), views.followed(row)
    actions = views.actions(payout, viewer)
    events = await webhooks.events_with_deliveries(row.merchant, payout_id=payout.id, limit=50)
    return {"payout": payout, "merchant_id": row.merchant, "scenario": followed.scenario,
            "explain": views.explain(payout, followed, scenarios.table(), viewer), "actions": actions,
            "simulate": views.simulate_form(payout, followed, actions.simulate),
            "scenario_history": views.scenario_history(payout, events),
            "entries": await queries.payout_ledger(payout.id, row.merchant), "final": states.is_final(payout.status),
            "events": events, "back": payout.id}


@get("/payouts/{payout_id:str}")
async def payout_page(request: Request, viewer: Me, payout_id: PayoutId) -> Template:
    return page(request, "payout.html", viewer, **await _payout_context(viewer, payout_id))


@get("/payouts/{payout_id:str}/live")
async def payout_live(request: Request, viewer: Me, payout_id: PayoutId) -> Template:
    return fragment(request, "payout_live.html", viewer, **await _payout_context(viewer, payout_id))


async def _cancel(viewer: Viewer, payout_id: str, form) -> str:
    await actions.cancel(payout_id, pages.merchant_only(viewer), forms.cancel_reason(form))
    return "Cancelled: the funds are back in available"


async def _reinitiate(viewer: Viewer, payout_id: str, form) -> str:
    merchant_id = pages.merchant_only(viewer)
    current = await payouts.get(payout_id, merchant_id)
    payout = await actions.reinitiate(payout_id, merchant_id, forms.new_destination(current.destination, form))
    return f"Reinitiated: pending again, following the {payout.scenario} scenario"


async def _simulate(viewer: Viewer, payout_id: str, form) -> str:
    outcome = forms.simulate(form)
    await actions.simulate(payout_id, pages.merchant_only(viewer), outcome.status, outcome.failure_code)
    return f"The rail will call back with {outcome.status}; this page shows it when the callback arrives"


async def _approve(viewer: Viewer, payout_id: str, form) -> str:
    await actions.approve(payout_id, forms.reason(form), viewer.team)
    return "Approved: the payout follows its scenario now"


async def _reject(viewer: Viewer, payout_id: str, form) -> str:
    await actions.reject(payout_id, forms.reason(form), viewer.team)
    return "Rejected: the merchant's funds are back in available"


async def _release(viewer: Viewer, payout_id: str, form) -> str:
    await actions.release(payout_id, forms.reason(form), viewer.team)
    return "Released: the payout is processing"


ACTIONS = {"cancel": ("merchant", _cancel), "reinitiate": ("merchant", _reinitiate),
           "simulate": ("merchant", _simulate), "approve": ("admin", _approve), "reject": ("admin", _reject),
           "release": ("admin", _release)}


@post("/payouts/{payout_id:str}/{action:str}", opt=SENDS_A_PAYOUT_AGAIN)  # reinitiate among its actions
async def payout_action(request: Request, viewer: Me, payout_id: PayoutId,
                        action: Annotated[str, Parameter(max_length=20)]) -> Redirect:
    if action not in ACTIONS:
        raise NotFound(f"There is no {action!r} action")
    role, run = ACTIONS[action]
    if role == "admin":
        pages.admin_only(viewer)
    else:
        pages.merchant_only(viewer)
    form = await request.form()
    session = sessions.of(request)
    try:
        session.flash("ok", await run(viewer, payout_id, form))
    except NotFound:
        raise
    except (ApiError, forms.FormError) as exc:
        session.flash("error", f"Could not {action}: " + "; ".join(forms.messages_of(exc)))
    back = "/dashboard/review" if form.get("back") == "review" and viewer.is_admin else None
    return Redirect(back or f"/dashboard/payouts/{quote(payout_id, safe='')}", status_code=303)


# --- reference and admin pages -----------------------------------------------------------------


async def _review(request: Request, viewer: Viewer) -> Template:
    def queue(status: str):
        return admin_service.list_payouts(limit=100, cursor=None, status=status, created_gte=None,
                                          created_lte=None, merchant_id=None, team=viewer.team)

    requests = (await admin_service.payout_requests(viewer.team)).data
    return page(request, "review.html", viewer, in_review=(await queue(states.IN_REVIEW)).data,
                on_hold=(await queue(states.ON_HOLD)).data, requests=requests,
                review_min=scenarios.table().review.min_amount)


@get("/review")
async def review_page(request: Request, viewer: Me) -> Template:
    pages.admin_only(viewer)
    return await _review(request, viewer)


@get("/merchants")
async def merchant_page(request: Request, viewer: Me) -> Template:
    pages.admin_only(viewer)
    return page(request, "merchants.html", viewer, merchants=await queries.merchants(team=viewer.team))


@get("/{rest:path}")
async def unknown_page(rest: FromPath[str]) -> None:
    raise NotFound("There is no such dashboard page")


# --- wiring ------------------------------------------------------------------------------------


def routers(rate_limiter: RateLimitMiddleware) -> list[Router]:
    """`rate_limiter`: the API's own (the same counters, and one Redis pool, closed at
    the app's shutdown)."""
    settings = get_settings()
    dashboard = Router(
        path="/dashboard",
        route_handlers=[login_page, login, logout, home, ledger_page, topup, payout_list, payout_rows, new_payout,
                        create_payout, payout_page, payout_live, payout_action, review_page, merchant_page,
                        *scenario_editor.route_handlers, *webhooks.route_handlers, *batches.route_handlers,
                        *requests.route_handlers, unknown_page],
        include_in_schema=False,
        # As on the API: who is signed in, then the merchant's rate limit, then the form's
        # one-time idempotency key (its effect and the key commit together).
        middleware=[sessions.SessionMiddleware(), pages.SignedInMiddleware(),
                    rate_limiter,
                    IdempotencyMiddleware(settings.max_body_bytes, form_field=pages.IDEMPOTENCY_FIELD,
                                          refused=sessions.refused)],
        guards=[pages.check_csrf],
        dependencies={"viewer": Provide(pages.provide_viewer)},
        exception_handlers={Exception: pages.error_page},
        cache_control=CacheControlHeader(no_store=True),
        response_headers=[
            ResponseHeader(name="Content-Security-Policy",
                           value="default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"),
            ResponseHeader(name="X-Frame-Options", value="DENY"),
            ResponseHeader(name="Referrer-Policy", value="same-origin"),
        ],
    )
    static = create_static_files_router(path="/dashboard/static", directories=[HERE / "static"],
                                        include_in_schema=False, name="dashboard-static")
    return [dashboard, static]


def template_config() -> TemplateConfig:
    return TemplateConfig(directory=HERE / "templates", engine=JinjaTemplateEngine, engine_callback=filters.install)

