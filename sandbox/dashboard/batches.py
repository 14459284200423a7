"""Dashboard pages for payout batches: upload a CSV, the merchant's batches with their
progress, one batch's counts and items, and retrying its failed payouts. Through
`sandbox.batches` (upload, service): the functions the API uses."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from litestar import Request, get, post
from litestar.datastructures import UploadFile
from litestar.params import Parameter
from litestar.response import Redirect, Template

from sandbox import db
from sandbox.batches import service, upload
from sandbox.batches.schemas import ITEM_STATUSES, PayoutBatch
from sandbox.core.errors import ApiError, ValidationFailed
from sandbox.dashboard import forms, pages
from sandbox.dashboard import session as sessions
from sandbox.dashboard.pages import Me, fragment, page
from sandbox.dashboard.views import Viewer
from sandbox.idempotency.paying import MAKES_A_BATCH, SENDS_A_BATCH_AGAIN
from sandbox.payouts.model.states import FINAL, STATUSES
from sandbox.settings import get_settings

BATCHES = "/dashboard/batches"
Id = Annotated[str, Parameter(max_length=64)]
Status = Annotated[str | None, Parameter(max_length=20)]
SETTLED = frozenset({"invalid", "refused", *FINAL})


def progress(batch: PayoutBatch) -> dict[str, Any]:
    """How many items reached an outcome (a final payout status, or invalid / refused)."""
    settled = sum(n for status, n in batch.counts.items() if status in SETTLED)
    total = batch.total_items or 1
    return {"settled": settled, "percent": int(100 * settled / total),
            "counts": [(s, n) for s, n in batch.counts.items() if n]}


async def recent(merchant_id: str, limit: int = 20) -> list[tuple[PayoutBatch, dict]]:
    rows = await db.fetch(f"SELECT {service.COLUMNS} FROM payout_batch WHERE merchant = $1"
                          " ORDER BY created_at DESC, id LIMIT $2", merchant_id, limit)
    return [(batch, progress(batch)) for batch in [await service.to_api(r) for r in rows]]


async def _list_page(request: Request, viewer: Viewer, *, status: int = 200, errors=None) -> Template:
    return page(request, "batches.html", viewer, status=status, errors=errors or [],
                batches=await recent(pages.merchant_only(viewer)))


@get("/batches")
async def batches_page(request: Request, viewer: Me) -> Template:
    return await _list_page(request, viewer)


@get("/batches/rows")
async def batch_rows(request: Request, viewer: Me) -> Template:
    return fragment(request, "batch_rows.html", viewer, batches=await recent(pages.merchant_only(viewer)))


@post("/batches", request_max_body_size=get_settings().batch_max_bytes, opt=MAKES_A_BATCH)
async def upload_batch(request: Request, viewer: Me) -> Template | Redirect:
    merchant_id = pages.merchant_only(viewer)
    file = (await request.form()).get("file")
    try:
        if not isinstance(file, UploadFile) or not file.filename:
            raise ValidationFailed.field("file", "choose a CSV file to upload")
        batch = await upload.accept_csv(merchant_id, file)
    except ApiError as exc:
        return await _list_page(request, viewer, status=exc.status, errors=forms.messages_of(exc))
    finally:
        if isinstance(file, UploadFile):
            await file.close()
    sessions.of(request).flash("ok", f"Batch accepted: {batch.total_items} rows; the worker makes the payouts")
    return Redirect(f"{BATCHES}/{quote(batch.id, safe='')}", status_code=303)


async def _batch_context(viewer: Viewer, batch_id: str, status: str | None) -> dict[str, Any]:
    merchant_id = pages.merchant_only(viewer)
    if status and status not in (*ITEM_STATUSES, *STATUSES):
        raise ValidationFailed.field("status", "is not an item status")
    batch = await service.get(batch_id, merchant_id)
    items = await service.items_page(batch_id, merchant_id, status=status or None, limit=100, cursor=None)
    return {"batch": batch, "progress": progress(batch), "items": items, "status": status or "",
            "live_url": f"{BATCHES}/{quote(batch.id, safe='')}/live" + (f"?status={status}" if status else "")}


@get("/batches/{batch_id:str}")
async def batch_page(request: Request, viewer: Me, batch_id: Id, status: Status = None) -> Template:
    return page(request, "batch.html", viewer, **await _batch_context(viewer, batch_id, status))


@get("/batches/{batch_id:str}/live")
async def batch_live(request: Request, viewer: Me, batch_id: Id, status: Status = None) -> Template:
    return fragment(request, "batch_live.html", viewer, **await _batch_context(viewer, batch_id, status))


@post("/batches/{batch_id:str}/retry", opt=SENDS_A_BATCH_AGAIN)
async def retry_batch(request: Request, viewer: Me, batch_id: Id) -> Redirect:
    accepted = await service.request_retry(batch_id, pages.merchant_only(viewer))  # NotFound: a 404 page
    sessions.of(request).flash(
        "ok" if accepted.requested else "error",
        f"Retrying {accepted.requested} failed payouts" if accepted.requested
        else "Nothing to retry: no failed payout in this batch that was not retried already")
    return Redirect(f"{BATCHES}/{quote(batch_id, safe='')}", status_code=303)


route_handlers = [batches_page, batch_rows, upload_batch, batch_page, batch_live, retry_batch]
