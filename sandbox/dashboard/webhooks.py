"""Dashboard pages for webhooks: the merchant's endpoints (add, delete, audit the receiver,
with each one's latest scorecard), the event log with every delivery attempt and its
response, and resending an event. Through the webhook services the API uses
(`sandbox.webhooks.endpoints.endpoints`, `events`, `audits`)."""

from __future__ import annotations

import re
from typing import Annotated

from litestar import Request, get, post
from litestar.params import Parameter
from litestar.response import Redirect, Template

from sandbox.core.errors import ApiError
from sandbox.dashboard import forms, pages
from sandbox.dashboard import session as sessions
from sandbox.dashboard.pages import Me, fragment, page
from sandbox.dashboard.views import Viewer
from sandbox.webhooks.audit import audits
from sandbox.webhooks.endpoints import endpoints, events
from sandbox.webhooks.model.event_types import PATTERNS
from sandbox.webhooks.model.schemas import Delivery, EndpointCreate, Event

WEBHOOKS = "/dashboard/webhooks"
RECENT_EVENTS = 15
Id = Annotated[str, Parameter(max_length=64)]
_PAYOUT_ID = re.compile(r"^po_[A-Za-z0-9]{1,60}$")


async def events_with_deliveries(merchant_id: str, *, payout_id: str | None = None,
                                 limit: int = RECENT_EVENTS) -> list[tuple[Event, list[Delivery]]]:
    """Newest events first, each with its deliveries (oldest first) and every attempt."""
    listing = await events.list_page(merchant_id, limit=limit, cursor=None, type_pattern=None,
                                            payout_id=payout_id)
    return [(event, (await events.deliveries_page(merchant_id, event.id, limit=100, cursor=None)).data)
            for event in listing.data]


async def _page(request: Request, viewer: Viewer, *, status: int = 200, values=None, errors=None) -> Template:
    merchant_id = pages.merchant_only(viewer)
    created = sessions.of(request).take_secret()
    listed = (await endpoints.list_page(merchant_id, 100, None)).data
    return page(request, "webhooks.html", viewer, status=status, created=created, errors=errors or [],
                values=values or {"url": "", "events": "*", "signing": "hmac-sha256"}, patterns=PATTERNS,
                endpoints=listed, audits=await audits.latest(merchant_id, [e.id for e in listed]),
                events=await events_with_deliveries(merchant_id))


@get("/webhooks")
async def webhooks_page(request: Request, viewer: Me) -> Template:
    return await _page(request, viewer)


@get("/webhooks/events")
async def webhook_events(request: Request, viewer: Me) -> Template:
    return fragment(request, "events.html", viewer, events=await events_with_deliveries(pages.merchant_only(viewer)),
                    back="webhooks")


@post("/webhooks")
async def add_endpoint(request: Request, viewer: Me) -> Template | Redirect:
    """Post/Redirect/Get: a reload shows the page again rather than adding a second
    endpoint. The signing secret goes to the page through a one-time flash in the
    encrypted session cookie, taken (and gone) when the page shows it; never in a URL."""
    merchant_id = pages.merchant_only(viewer)
    form = await request.form()
    values = {"url": (form.get("url") or "").strip(), "events": form.get("events") or "*",
              "signing": form.get("signing") or "hmac-sha256"}
    try:
        body = forms.convert({"url": values["url"], "events": [values["events"]], "signing": values["signing"]},
                             EndpointCreate)
        created = await endpoints.create(merchant_id, body)
    except (ApiError, forms.FormError) as exc:
        status = exc.status if isinstance(exc, ApiError) else 400
        return await _page(request, viewer, status=status, values=values, errors=forms.messages_of(exc))
    sessions.of(request).flash_secret(sessions.NewEndpoint(id=created.id, secret=created.secret,
                                                           public_key=created.public_key))
    return Redirect(WEBHOOKS, status_code=303)


@post("/webhooks/{endpoint_id:str}/delete")
async def delete_endpoint(request: Request, viewer: Me, endpoint_id: Id) -> Redirect:
    merchant_id = pages.merchant_only(viewer)
    session = sessions.of(request)
    try:
        await endpoints.delete(merchant_id, endpoint_id)
        session.flash("ok", "Endpoint deleted: it receives nothing more; its deliveries stay in the event log")
    except ApiError as exc:
        session.flash("error", "Could not delete: " + "; ".join(forms.messages_of(exc)))
    return Redirect(WEBHOOKS, status_code=303)


@post("/webhooks/{endpoint_id:str}/audit")
async def audit_endpoint(request: Request, viewer: Me, endpoint_id: Id) -> Redirect:
    """Runs the receiver audit (at most about 30 s); its scorecard shows under the endpoints."""
    merchant_id = pages.merchant_only(viewer)
    session = sessions.of(request)
    try:
        await audits.count_requests(request)
        result = await audits.run(merchant_id, endpoint_id)
        passed = result.case_count - result.failed_count
        # "warn", not "error": the audit ran and is kept; it is the receiver that failed.
        session.flash("ok" if result.passed else "warn",
                      f"Audit of {result.url}: {passed} of {result.case_count} cases passed; the scorecard is below")
    except ApiError as exc:
        session.flash("error", "Could not audit: " + "; ".join(forms.messages_of(exc)))
    return Redirect(WEBHOOKS, status_code=303)


@post("/events/{event_id:str}/resend")
async def resend_event(request: Request, viewer: Me, event_id: Id) -> Redirect:
    merchant_id = pages.merchant_only(viewer)
    back = (await request.form()).get("back") or ""
    session = sessions.of(request)
    try:
        accepted = await events.resend(merchant_id, event_id, None)
        count = len(accepted.deliveries)
        session.flash("ok", f"Resent {event_id} to {count} endpoint{'s' if count != 1 else ''}"
                            " (same webhook-id); the attempts show up below")
    except ApiError as exc:
        session.flash("error", "Could not resend: " + "; ".join(forms.messages_of(exc)))
    return Redirect(f"/dashboard/payouts/{back}" if _PAYOUT_ID.fullmatch(back) else WEBHOOKS, status_code=303)


route_handlers = [webhooks_page, webhook_events, add_endpoint, delete_endpoint, audit_endpoint, resend_event]
