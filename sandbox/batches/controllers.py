from __future__ import annotations

from typing import Annotated

import anyio
import msgspec
from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromQuery, PathParameter, QueryParameter

from sandbox.auth.keys import MERCHANT_ONLY
from sandbox.batches import rows, service, upload
from sandbox.batches.openapi import UploadOperation
from sandbox.batches.schemas import BatchJsonIn, BatchRetryAccepted, ItemStatus, PayoutBatch, PayoutBatchItemPage
from sandbox.core.errors import MalformedJson, UnsupportedMediaType, ValidationFailed
from sandbox.core.strict_input import refuse_duplicate_keys
from sandbox.idempotency.paying import MAKES_A_BATCH, SENDS_A_BATCH_AGAIN
from sandbox.settings import get_settings

BatchId = Annotated[str, PathParameter(max_length=64)]
_decode_json = msgspec.json.Decoder(BatchJsonIn)


async def _csv(request: Request) -> PayoutBatch:
    form = await request.form()
    unknown = sorted(set(form.keys()) - {"file"})
    if unknown:
        raise ValidationFailed.field(unknown[0], "is not a known field; send the CSV as the field `file`")
    file = form.get("file")
    if not isinstance(file, UploadFile):
        raise ValidationFailed.field("file", "send the CSV as a file in the multipart field `file`")
    try:
        return await upload.accept_csv(request.user.merchant_id, file)
    finally:
        await file.close()


async def _json(request: Request) -> PayoutBatch:
    raw = await request.body()
    # A key twice in any item is refused as in every JSON body. Up to 64 MB: checked in a
    # thread (about 2 s for 100,000 items, 20 MB, on a busy 2-core machine) rather than
    # holding the event loop.
    await anyio.to_thread.run_sync(refuse_duplicate_keys, raw)
    try:
        data = _decode_json.decode(raw)
    except msgspec.ValidationError as exc:
        path, message = rows.split_error(exc)
        raise ValidationFailed.field(path or "body", message) from None
    except msgspec.DecodeError as exc:
        raise MalformedJson(f"The body could not be decoded: {exc}") from None
    if not data.items:
        raise ValidationFailed.field("items", "needs at least one item")
    return await upload.accept_json(request.user.merchant_id, data.items)


class PayoutBatchController(Controller):
    path = "/payout-batches"
    tags = ["Payout batches"]
    opt = MERCHANT_ONLY

    @post("", operation_id="createPayoutBatch", status_code=202, summary="Upload a batch of payouts",
          operation_class=UploadOperation, request_max_body_size=get_settings().batch_max_bytes,
          opt={"accepts_files": True, **MAKES_A_BATCH})
    async def create(self, request: Request) -> PayoutBatch:
        """A CSV file (multipart field `file`) or JSON `{"items": [...]}`, up to 100,000
        payouts. Every row is checked now: one that fails becomes an `invalid` item with
        its line and reason and does not stop the others. The worker then creates the
        payouts in chunks (a row the money path refuses, e.g. for funds, becomes
        `refused`); `batch.completed` is emitted when every item has its outcome."""
        content_type, _ = request.content_type
        if content_type == "multipart/form-data":
            return await _csv(request)
        if content_type == "application/json":
            return await _json(request)
        raise UnsupportedMediaType("Send a CSV file as multipart/form-data (field `file`) or JSON {\"items\": [...]}")

    @get("/{batch_id:str}", operation_id="getPayoutBatch", summary="A batch and its counts per status")
    async def retrieve(self, request: Request, batch_id: BatchId) -> PayoutBatch:
        return await service.get(batch_id, request.user.merchant_id)

    @get("/{batch_id:str}/items", operation_id="listPayoutBatchItems", summary="A batch's items, by line")
    async def items(self, request: Request, batch_id: BatchId,
                    status: FromQuery[ItemStatus | None] = None,
                    limit: Annotated[int, QueryParameter(ge=1, le=100)] = 100,
                    cursor: Annotated[str | None, QueryParameter(max_length=200)] = None) -> PayoutBatchItemPage:
        """`status` filters by the item's status: `queued`, `invalid`, `refused`, or the
        status of its payout."""
        return await service.items_page(batch_id, request.user.merchant_id, status=status, limit=limit,
                                        cursor=cursor)

    @post("/{batch_id:str}/retry", operation_id="retryPayoutBatch", status_code=202,
          summary="Re-initiate the batch's failed payouts", opt=SENDS_A_BATCH_AGAIN)
    async def retry(self, request: Request, batch_id: BatchId) -> BatchRetryAccepted:
        """Every item whose payout is `failed` is re-initiated by the worker, once: an item
        retried before is never retried again, so calling this twice is harmless."""
        return await service.request_retry(batch_id, request.user.merchant_id)
