"""Payouts: create, read, list, cancel, and the one `transition` every status change
goes through (API, worker, IPN and admin alike)."""

from __future__ import annotations

import functools
from datetime import datetime

import asyncpg
import msgspec

from sandbox import db
from sandbox.core.clock import iso, now
from sandbox.core.errors import Conflict, DuplicateReference, NotFound, ValidationFailed
from sandbox.core.ids import new_id
from sandbox.core.money import AmountError, format_amount, parse_amount
from sandbox.core.pagination import MAX_LIMIT, decode_cursor, encode_cursor
from sandbox.directory import service as directory
from sandbox.ledger import service as ledger
from sandbox.payouts import destinations, scenarios, schedule, states
from sandbox.payouts.schemas import Destination, Payout, PayoutCreate, PayoutPage, StatusChange
from sandbox.webhooks import outbox

COLUMNS = (
    "id, merchant, amount, currency, status, scenario, destination, reference, description, metadata,"
    " attempts, failure_code, psp_reference, status_history, track, step_index, next_action_at, created_at,"
    " updated_at, number"
)

_decode_history = msgspec.json.Decoder(list[StatusChange])
_decode_destination = msgspec.json.Decoder(Destination)
_decode_metadata = msgspec.json.Decoder(dict[str, str] | None)


def to_api(row: asyncpg.Record) -> Payout:
    return Payout(
        id=row["id"],
        object="payout",
        amount=format_amount(row["amount"]),
        currency=row["currency"],
        status=row["status"],
        scenario=row["scenario"],
        destination=_decode_destination.decode(row["destination"]),
        reference=row["reference"],
        description=row["description"],
        metadata=_decode_metadata.decode(row["metadata"]) if row["metadata"] is not None else None,
        attempts=row["attempts"],
        failure_code=row["failure_code"],
        psp_reference=row["psp_reference"],
        status_history=_decode_history.decode(row["status_history"]),
        created_at=iso(row["created_at"]),
        updated_at=iso(row["updated_at"]),
    )


def _history_item(status: str, at: datetime, reason: str | None) -> str:
    return msgspec.json.encode([{"status": status, "at": iso(at), "reason": reason}]).decode()


# Creating a payout is one statement, one round trip: the ledger's guarded balance update
# (which takes the balance row lock), then, only if it matched, the payout row and its
# `payout.created` outbox event. Fewer round trips while the balance row is locked is
# what lets one busy merchant keep up with many quiet ones.
_CREATE_SQL = ledger.POST_CTES + """
, p AS (
    INSERT INTO payout (id, merchant, amount, currency, status, scenario, destination, reference,
                        description, metadata, attempts, failure_code, psp_reference, status_history,
                        next_action_at, created_at, updated_at)
    SELECT $7, $1, $12, $13, $14, $15, $16::jsonb, $17, $18, $19::jsonb, 0, NULL, NULL, $20::jsonb, $21, $9, $9
      FROM b
), o AS (
    INSERT INTO outbox_event (id, merchant, type, payout_id, data, created_at, relayed_at)
    SELECT $22, $1, 'payout.created', $7, $23::jsonb, $9, NULL FROM b
)
SELECT 1 FROM b
"""


async def create(merchant_id: str, body: PayoutCreate) -> Payout:
    try:
        amount = parse_amount(body.amount)
    except AmountError as exc:
        raise ValidationFailed.field("amount", str(exc)) from None
    book = await directory.get()
    dest, number = destinations.validate(
        msgspec.to_builtins(body.destination), book.banks_by_code, book.bank_by_iban_code, book.wallet_codes
    )
    table = scenarios.table()
    scenario = table.for_account(number)
    status = states.IN_REVIEW if table.needs_review(amount) else states.PENDING
    reason = "amount at or above the review threshold" if status == states.IN_REVIEW else "created"
    at = now()
    payout_id = new_id("po")
    first_step_at = schedule.due_at(scenario.steps, 0, at) if status == states.PENDING else None
    # Everything the response and the event show is known before the database is asked,
    # so the statement needs no RETURNING and the row is never decoded again.
    created = iso(at)
    payout = Payout(
        id=payout_id, object="payout", amount=format_amount(amount), currency="PKR", status=status,
        scenario=scenario.name, destination=msgspec.convert(dest, Destination), reference=body.reference,
        description=body.description, metadata=body.metadata, attempts=0, failure_code=None, psp_reference=None,
        status_history=[StatusChange(status=status, at=created, reason=reason)], created_at=created,
        updated_at=created,
    )
    async with db.transaction():
        try:
            posted = await db.fetchval(
                _CREATE_SQL,
                *ledger.posting_args(merchant_id, "payout_created", amount, payout_id, at),
                amount,
                "PKR",
                status,
                scenario.name,
                msgspec.json.encode(dest).decode(),
                body.reference,
                body.description,
                msgspec.json.encode(body.metadata).decode() if body.metadata is not None else None,
                msgspec.json.encode(payout.status_history).decode(),
                # The worker picks up pending payouts; in_review waits for an admin.
                first_step_at,
                new_id("evt"),
                msgspec.json.encode(payout).decode(),
            )
        except asyncpg.UniqueViolationError:
            raise DuplicateReference(f"Reference {body.reference!r} is already used by another payout") from None
        await ledger.after_posting(merchant_id, posted is not None)
        await outbox.event_written()
        await schedule.schedule(payout_id, schedule.MAIN, 0, first_step_at)
    return payout


async def get_row(payout_id: str, merchant_id: str | None, *, lock: bool = False) -> asyncpg.Record:
    """A payout row; another merchant's payout is as missing as one that never existed.
    With `lock`, the row stays locked until the caller's transaction ends."""
    row = await db.fetchrow(
        f"SELECT {COLUMNS} FROM payout WHERE id = $1 AND ($2::varchar IS NULL OR merchant = $2)"
        + (" FOR UPDATE" if lock else ""),
        payout_id,
        merchant_id,
    )
    if row is None:
        raise NotFound(f"No payout {payout_id}")
    return row


async def get(payout_id: str, merchant_id: str) -> Payout:
    return to_api(await get_row(payout_id, merchant_id))


async def list_rows(merchant_id: str | None, *, limit: int, cursor: str | None, status: str | None = None,
                    created_gte: datetime | None = None, created_lte: datetime | None = None,
                    reference: str | None = None) -> tuple[PayoutPage, list[asyncpg.Record]]:
    """A page of payout rows, newest first (all merchants when `merchant_id` is None)."""
    limit = max(1, min(limit, MAX_LIMIT))
    before = decode_cursor(cursor)
    rows = await db.fetch(
        f"""SELECT {COLUMNS} FROM payout
             WHERE ($1::varchar IS NULL OR merchant = $1)
               AND ($2::bigint IS NULL OR number < $2)
               AND ($3::varchar IS NULL OR status = $3)
               AND ($4::timestamptz IS NULL OR created_at >= $4)
               AND ($5::timestamptz IS NULL OR created_at <= $5)
               AND ($6::varchar IS NULL OR reference = $6)
             ORDER BY number DESC LIMIT $7""",
        merchant_id,
        before,
        status,
        created_gte,
        created_lte,
        reference,
        limit + 1,
    )
    has_more = len(rows) > limit
    rows = rows[:limit]
    page = PayoutPage(data=[], has_more=has_more, next_cursor=encode_cursor(rows[-1]["number"]) if has_more else None)
    return page, rows


async def list_page(merchant_id: str, **filters) -> PayoutPage:
    page, rows = await list_rows(merchant_id, **filters)
    page.data = [to_api(r) for r in rows]
    return page


# Columns a transition may set besides status; names come from code, never from input.
SETTABLE = frozenset({"failure_code", "psp_reference", "next_action_at", "track", "step_index", "scenario",
                      "destination"})


@functools.cache
def _transition_sql(names: tuple[str, ...], posting: bool) -> str:
    """One statement for a status change: the payout's update and its event, after the
    ledger's posting when the change moves money (then only if the posting matched).
    Parameters after the posting's ($1..$11 when `posting`): payout id, merchant, at,
    status, history item, attempts, event id, event type, event data, then `names`."""
    n = 11 if posting else 0
    assignments = "".join(
        f", {name} = ${n + 10 + i}" + ("::jsonb" if name == "destination" else "") for i, name in enumerate(names)
    )
    return (ledger.POST_CTES + ", " if posting else "WITH ") + f"""u AS (
    UPDATE payout SET status = ${n + 4}, status_history = status_history || ${n + 5}::jsonb, attempts = ${n + 6},
           updated_at = ${n + 3}{assignments}
     WHERE id = ${n + 1}{" AND EXISTS (SELECT 1 FROM b)" if posting else ""}
    RETURNING id
), o AS (
    INSERT INTO outbox_event (id, merchant, type, payout_id, data, created_at, relayed_at)
    SELECT ${n + 7}, ${n + 2}, ${n + 8}, ${n + 1}, ${n + 9}::jsonb, ${n + 3}, NULL FROM u
)
SELECT count(*) FROM u"""


async def transition(payout_id: str, to_status: str, *, merchant_id: str | None = None,
                     allowed_from: list[str] | None = None, reason: str | None = None,
                     sets: dict | None = None, at: datetime | None = None, row=None) -> dict:
    """Move a payout to `to_status` if its current status allows it, with its ledger
    transaction and outbox event, in one transaction. `sets` updates other columns in
    the same statement (`next_action_at` is cleared unless given). Entering `processing`
    counts an attempt. `row`: the payout as it is, when the caller holds its lock already
    (else it is read and locked here). Returns the payout as it is now. Raises NotFound,
    or Conflict (`invalid_state`) when the payout is in a status that cannot move there."""
    at = at or now()
    # Unless the caller schedules a next step, nothing is due after a status change: a
    # cancelled or rejected payout must not keep a step job or the sweeper busy.
    sets = {"next_action_at": None, **(sets or {})}
    unknown = set(sets) - SETTABLE
    if unknown:
        raise ValueError(f"cannot set {unknown}")
    allowed = allowed_from if allowed_from is not None else states.sources(to_status)
    if "destination" in sets:
        sets["destination"] = msgspec.json.encode(sets["destination"]).decode()
    async with db.transaction():
        if row is None:
            row = await get_row(payout_id, merchant_id, lock=True)
        if row["status"] not in allowed or to_status not in states.NEXT[row["status"]]:
            raise Conflict(f"The payout is {row['status']}; it cannot become {to_status}")
        # The row as the statement leaves it (it is locked: nothing else changes it), which
        # the event shows: the statement needs no RETURNING and nothing is read again.
        item = _history_item(to_status, at, reason)
        history = msgspec.json.encode(msgspec.json.decode(row["status_history"]) + msgspec.json.decode(item))
        after = {**dict(row), "status": to_status, "status_history": history.decode(), "updated_at": at,
                 "attempts": row["attempts"] + (1 if to_status == states.PROCESSING else 0), **sets}
        merchant = after["merchant"]
        kind = states.ledger_kind(row["status"], to_status)
        names = tuple(sets)
        changed = await db.fetchval(
            _transition_sql(names, kind is not None),
            *(ledger.posting_args(merchant, kind, row["amount"], payout_id, at) if kind else ()),
            payout_id, merchant, at, to_status, item, after["attempts"],
            new_id("evt"), f"payout.{to_status}", msgspec.json.encode(to_api(after)).decode(),
            *[sets[n] for n in names],
        )
        if kind:
            await ledger.after_posting(merchant, changed == 1)
        await outbox.event_written()
    return after


CANCELLABLE = [states.PENDING, states.IN_REVIEW, states.ON_HOLD]


async def cancel(payout_id: str, merchant_id: str, reason: str | None) -> Payout:
    async with db.transaction():
        row = await get_row(payout_id, merchant_id, lock=True)
        if row["status"] == states.PENDING and row["psp_reference"] is not None:
            raise Conflict("The payout was already submitted to the bank; it can no longer be cancelled")
        row = await transition(
            payout_id,
            states.CANCELLED,
            merchant_id=merchant_id,
            allowed_from=CANCELLABLE,
            reason=reason or "cancelled by the merchant",
            row=row,
        )
    return to_api(row)
