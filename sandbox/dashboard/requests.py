"""Dashboard pages for the request log: the merchant's API requests with the list's filters
(and the object they touched: each payout's page links here), one request with its headers
and bodies. Through `sandbox.requests.service`, the functions GET /sandbox/requests uses."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from litestar import Request, get
from litestar.params import Parameter
from litestar.response import Template

from sandbox.dashboard import pages
from sandbox.dashboard.pages import Me, page
from sandbox.requests import service
from sandbox.requests.schemas import LoggedRequest

PAGE_SIZE = 50
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
Field = Annotated[str | None, Parameter(max_length=500)]


def _filters(method: str | None, status: str | None, path: str | None, idempotency_key: str | None,
             object_id: str | None) -> tuple[service.Filters, dict[str, str], list[str]]:
    """The filters as the service takes them, as the form shows them, and what was not
    understood (an empty field is no filter)."""
    shown = {"method": method or "", "status": status or "", "path": path or "",
             "idempotency_key": idempotency_key or "", "object_id": object_id or ""}
    errors = []
    if shown["method"] and shown["method"] not in METHODS:
        errors.append(f"Method must be one of {', '.join(METHODS)}")
    code = None
    if shown["status"]:
        if shown["status"].isdigit() and 100 <= int(shown["status"]) <= 599:
            code = int(shown["status"])
        else:
            errors.append("Status must be a number from 100 to 599")
    filters = service.Filters(method=shown["method"] if shown["method"] in METHODS else None, status=code,
                              path=shown["path"] or None, idempotency_key=shown["idempotency_key"] or None,
                              object_id=shown["object_id"] or None)
    return filters, shown, errors


def tone(entry: LoggedRequest) -> str:
    return "ok" if entry.status < 400 else "warn" if entry.status < 500 else "bad"


@get("/requests")
async def requests_page(request: Request, viewer: Me, method: Field = None, status: Field = None, path: Field = None,
                        idempotency_key: Field = None, object_id: Field = None,
                        cursor: Annotated[str | None, Parameter(max_length=200)] = None) -> Template:
    merchant_id = pages.merchant_only(viewer)
    filters, shown, errors = _filters(method, status, path, idempotency_key, object_id)
    listing = await service.page(merchant_id, filters, limit=PAGE_SIZE, cursor=cursor)
    older = ("/dashboard/requests?" + urlencode({**{k: v for k, v in shown.items() if v},
                                                 "cursor": listing.next_cursor})) if listing.has_more else None
    return page(request, "requests.html", viewer, listing=listing, filters=shown, errors=errors, methods=METHODS,
                older=older, tone=tone, filtered=any(shown.values()))


@get("/requests/{request_id:str}")
async def request_page(request: Request, viewer: Me,
                       request_id: Annotated[str, Parameter(max_length=128)]) -> Template:
    entry = await service.one(pages.merchant_only(viewer), request_id)
    return page(request, "request.html", viewer, entry=entry, tone=tone)


route_handlers = [requests_page, request_page]
