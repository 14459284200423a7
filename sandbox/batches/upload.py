"""Accepting a batch: read the rows (a CSV file streamed from disk a chunk at a time, or
a JSON list), check each, and store them as items in chunks; the worker then creates the
payouts. Runs inside the request's transaction, so a refused upload leaves nothing."""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable
from itertools import islice

import anyio
import msgspec
from litestar.datastructures import UploadFile

from sandbox import db
from sandbox import enqueue as queue
from sandbox.batches import rows, service
from sandbox.batches.schemas import MAX_ITEMS, PayoutBatch
from sandbox.core.clock import now
from sandbox.core.errors import ValidationFailed
from sandbox.core.ids import new_id
from sandbox.core.money import parse_amount
from sandbox.events import outbox
from sandbox.payouts.model.schemas import PayoutCreate

CHUNK = 2000
ITEM_COLUMNS = ("batch", "line", "status", "reason", "reference", "amount", "payload")
_encode = msgspec.json.Encoder()


class _Items:
    """Checks rows and copies them into payout_batch_item, CHUNK at a time."""

    def __init__(self, batch_id: str, checker: rows.Checker) -> None:
        self.batch_id = batch_id
        self.checker = checker
        self.total = 0
        self.queued = 0
        self.pending: list[tuple] = []

    async def add(self, line: int, body: PayoutCreate | None, reason: str | None) -> None:
        self.total += 1
        if self.total > MAX_ITEMS:
            raise ValidationFailed.field("items", f"a batch has at most {MAX_ITEMS} items")
        if body is not None and reason is None:
            reason = self.checker.check(body)
        if body is None:  # the row did not decode: nothing in it can be trusted to show
            self.pending.append((self.batch_id, line, "invalid", reason, None, None, None))
        elif reason is not None:  # well-formed but refused (unknown bank, say): show which row it was
            self.pending.append((self.batch_id, line, "invalid", reason, body.reference, parse_amount(body.amount),
                                 None))
        else:
            self.queued += 1
            self.pending.append((self.batch_id, line, "queued", None, body.reference, parse_amount(body.amount),
                                 _encode.encode(body).decode()))
        if len(self.pending) >= CHUNK:
            await self.flush()

    async def flush(self) -> None:
        if self.pending:
            async with db.conn() as c:
                await c.copy_records_to_table("payout_batch_item", records=self.pending, columns=ITEM_COLUMNS)
            self.pending = []


async def _accept(merchant_id: str, source: str, filename: str | None,
                  fill: Callable[[_Items], Awaitable[None]]) -> PayoutBatch:
    batch_id = new_id("pb")
    at = now()
    async with db.transaction():
        await db.execute(
            "INSERT INTO payout_batch (id, merchant, status, source, filename, total_items, created_at, updated_at,"
            " completed_at) VALUES ($1, $2, 'processing', $3, $4, 0, $5, $5, NULL)",
            batch_id, merchant_id, source, filename, at,
        )
        items = _Items(batch_id, await rows.checker())
        await fill(items)
        await items.flush()
        if items.total == 0:
            raise ValidationFailed.field("file" if source == "csv" else "items", "the batch has no rows")
        done = items.queued == 0  # nothing for the worker: every row was invalid
        row = await db.fetchone(
            f"UPDATE payout_batch SET total_items = $2, status = $3, completed_at = $4 WHERE id = $1"
            f" RETURNING {service.COLUMNS}",
            batch_id, items.total, "completed_with_errors" if done else "processing", at if done else None,
        )
        batch = await service.to_api(row)
        if done:
            await outbox.emit(merchant_id, "batch.completed", msgspec.to_builtins(batch), None, at)
        else:
            await db.after_commit(lambda: queue.enqueue(service.PROCESS_JOB, batch_id))
    return batch


async def accept_csv(merchant_id: str, upload: UploadFile) -> PayoutBatch:
    text = io.TextIOWrapper(upload.file, encoding="utf-8-sig", newline="")
    reader = csv.reader(text, strict=True)

    def take() -> list[tuple[int, list[str]]]:
        """Up to CHUNK rows; fewer only at the end of the file. Blank lines are not rows
        and are skipped wherever they are: a run of them is no end of file."""
        out = []
        while len(out) < CHUNK:
            start = reader.line_num + 1
            record = next(reader, None)
            if record is None:
                break
            if record:
                out.append((start, record))
        return out

    async def read() -> list[tuple[int, list[str]]]:
        try:  # parsing reads the spooled file: off the event loop
            return await anyio.to_thread.run_sync(take)
        except csv.Error as exc:
            raise ValidationFailed.field("file", f"line {reader.line_num}: {exc}") from None
        except UnicodeDecodeError:
            raise ValidationFailed.field("file", f"line {reader.line_num + 1}: not UTF-8 text") from None

    first = await read()
    if not first:
        raise ValidationFailed.field("file", "the file is empty; the first line names the columns")
    names = rows.check_header(first[0][1])

    async def fill(items: _Items) -> None:
        chunk = first[1:]
        while True:
            for line, record in chunk:
                await items.add(line, *rows.from_csv(names, record))
            chunk = await read()
            if not chunk:
                return

    try:
        return await _accept(merchant_id, "csv", upload.filename or None, fill)
    finally:
        text.detach()


async def accept_json(merchant_id: str, raw_items: list[msgspec.Raw]) -> PayoutBatch:
    if len(raw_items) > MAX_ITEMS:
        raise ValidationFailed.field("items", f"a batch has at most {MAX_ITEMS} items")
    for i, raw in enumerate(raw_items):
        if memoryview(raw)[:1] != b"{":
            raise ValidationFailed.field(f"items[{i}]", "must be an object")

    async def fill(items: _Items) -> None:
        for start in range(0, len(raw_items), CHUNK):
            for i, raw in enumerate(islice(raw_items, start, start + CHUNK), start=start + 1):
                await items.add(i, *rows.from_json(raw))

    return await _accept(merchant_id, "json", None, fill)
