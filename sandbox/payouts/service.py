"""Payouts: create, read, list, cancel, and `prepare_transition`, the one rule every status
change goes through (API, worker, IPN and admin alike), written by `transition` (one
payout) or with a claimed group's other changes (`engine`). The SQL lives in
`repository`; the service decides, and the caller that owns the transaction is visible
in each path."""

from __future__ import annotations

from datetime import datetime

import asyncpg
import msgspec

from sandbox import db
from sandbox import enqueue as queue
from sandbox.core.clock import iso, now
from sandbox.core.errors import DuplicateReference, NotFound, ValidationFailed
from sandbox.core.ids import new_id
from sandbox.core.money import AmountError, format_amount, parse_amount
from sandbox.core.pagination import Page, clamp, cut, decode_cursor
from sandbox.directory import service as directory
from sandbox.events import outbox
from sandbox.idempotency.in_statement import KeyClaim
from sandbox.ledger import service as ledger
from sandbox.ledger.service import Posting
from sandbox.payouts import destinations, failures, repository, scenarios, schedule, states
from sandbox.payouts.errors import InvalidTransition, PayoutNotCancelable
from sandbox.payouts.repository import Event, PayoutRow
from sandbox.payouts.schemas import Destination, Payout, PayoutCreate, PayoutPage, StatusChange

_decode_history = msgspec.json.Decoder(list[StatusChange])
_decode_destination = msgspec.json.Decoder(Destination)
_decode_metadata = msgspec.json.Decoder(dict[str, str] | None)
_encode = msgspec.json.Encoder()


def to_api(row: PayoutRow) -> Payout:
    return Payout(
        id=row.id,
        object="payout",
        amount=format_amount(row.amount),
        currency=row.currency,
        status=row.status,
        scenario=row.scenario,
        destination=_decode_destination.decode(row.destination),
        reference=row.reference,
        description=row.description,
        metadata=_decode_metadata.decode(row.metadata) if row.metadata is not None else None,
        attempts=row.attempts,
        failure_code=row.failure_code,
        failure=failures.detail(row.failure_code),
        psp_reference=row.psp_reference,
        status_history=_decode_history.decode(row.status_history),
        created_at=iso(row.created_at),
        updated_at=iso(row.updated_at),
    )


def statuses(row: PayoutRow) -> list[str]:
    """The statuses of the payout's history, oldest first."""
    return [change.status for change in _decode_history.decode(row.status_history)]


class Prepared(msgspec.Struct, frozen=True):
    """A payout about to be created: the response, the row, its events (`payout.created`,
    and `payout.in_review` when it waits for review) and when its first step is due."""

    payout: Payout
    row: PayoutRow
    events: list[Event]
    first_step_at: datetime | None


def prepare(merchant_id: str, body: PayoutCreate, book: directory.Directory, at: datetime) -> Prepared:
    """Everything the response and the events show, known before the database is asked
    (so a write needs no RETURNING and the row is never decoded again). Raises
    ValidationFailed when the amount or the destination breaks a rule."""
    try:
        amount = parse_amount(body.amount)
    except AmountError as exc:
        raise ValidationFailed.field("amount", str(exc)) from None
    dest, number = destinations.validate(
        msgspec.to_builtins(body.destination), book.banks_by_code, book.bank_by_iban_code, book.wallet_codes
    )
    table = scenarios.table()
    scenario = table.for_account(number)
    status = states.IN_REVIEW if table.needs_review(amount) else states.PENDING
    reason = "amount at or above the review threshold" if status == states.IN_REVIEW else "created"
    payout_id = new_id("po")
    first_step_at = schedule.due_at(scenario.steps, 0, at) if status == states.PENDING else None
    created = iso(at)
    payout = Payout(
        id=payout_id, object="payout", amount=format_amount(amount), currency="PKR", status=status,
        scenario=scenario.name, destination=msgspec.convert(dest, Destination), reference=body.reference,
        description=body.description, metadata=body.metadata, attempts=0, failure_code=None, failure=None,
        psp_reference=None,
        status_history=[StatusChange(status=status, at=created, reason=reason)], created_at=created,
        updated_at=created,
    )
    row = PayoutRow(
        id=payout_id, merchant=merchant_id, amount=amount, currency="PKR", status=status, scenario=scenario.name,
        destination=_encode.encode(dest).decode(), reference=body.reference, description=body.description,
        metadata=_encode.encode(body.metadata).decode() if body.metadata is not None else None, attempts=0,
        failure_code=None, psp_reference=None, status_history=_encode.encode(payout.status_history).decode(),
        # The worker picks up pending payouts; in_review waits for an admin.
        track=schedule.MAIN, step_index=0, next_action_at=first_step_at, created_at=at, updated_at=at,
    )
    data = _encode.encode(payout).decode()
    # A payout created in review has entered `in_review` too: receivers waiting for it
    # (to prompt a reviewer, say) get `payout.in_review` right after `payout.created`.
    events = [Event(id=new_id("evt"), type="payout.created", data=data)]
    if status == states.IN_REVIEW:
        events.append(Event(id=new_id("evt"), type="payout.in_review", data=data))
    return Prepared(payout, row, events, first_step_at)


# Creating a payout is one statement, one round trip (see `repository.insert`): the
# ledger's guarded posting (which takes the balance row lock), then, only if it was
# accepted, the payout row and its events. Fewer round trips while the balance row is
# locked is what lets one busy merchant keep up with many quiet ones. Given the
# request's idempotency `claim`, that one call also takes the key and stores the
# response (`repository.create_keyed`), and is the whole request's only round trip.
async def create(merchant_id: str, body: PayoutCreate, claim: KeyClaim | None = None) -> Payout:
    new = prepare(merchant_id, body, await directory.get(), now())
    row = new.row
    posting = ledger.posting(merchant_id, "payout_created", row.amount, row.id, row.created_at)
    if claim is not None:
        await _create_keyed(claim, new.payout, row, posting, new.events)
        return new.payout
    async with db.transaction():
        try:
            posted = await repository.insert(row, posting, new.events)
        except asyncpg.UniqueViolationError:
            raise _reference_taken(body.reference) from None
        await ledger.after_posting(merchant_id, posted)
        await outbox.event_written()
        await schedule.schedule(row.id, schedule.MAIN, 0, new.first_step_at, scenario=row.scenario)
    return new.payout


def _reference_taken(reference: str | None) -> DuplicateReference:
    return DuplicateReference(f"Reference {reference!r} is already used by another payout")


async def _create_keyed(claim: KeyClaim, payout: Payout, row: PayoutRow, posting: Posting,
                        events: list[Event]) -> None:
    """`create`'s write with the idempotency key in the same call. When the key is in use
    or answered already, the middleware answers from the claim and the payout returned
    is never sent; a refusal raises here, as `create` does, and the middleware stores it."""
    try:
        record = await repository.create_keyed(claim.args(201, _encode.encode(payout)), row, posting, events)
    except asyncpg.UniqueViolationError:
        claim.settle(None)
        raise _reference_taken(row.reference) from None
    outcome = claim.settle(record)
    if outcome == KeyClaim.REFUSED:
        await ledger.after_posting(row.merchant, False)  # raises why
    elif outcome == KeyClaim.CREATED:
        async with queue.one_pipeline():
            await ledger.after_posting(row.merchant, True)
            await outbox.event_written()
            await schedule.schedule(row.id, schedule.MAIN, 0, row.next_action_at, scenario=row.scenario)


async def get_row(payout_id: str, merchant_id: str | None, *, lock: bool = False) -> PayoutRow:
    """A payout row; another merchant's payout is as missing as one that never existed.
    With `lock`, the row stays locked until the caller's transaction ends."""
    row = await repository.get(payout_id, merchant_id, lock=lock)
    if row is None:
        raise NotFound(f"No payout {payout_id}")
    return row


async def get(payout_id: str, merchant_id: str) -> Payout:
    return to_api(await get_row(payout_id, merchant_id))


async def list_rows(merchant_id: str | None, *, limit: int, cursor: str | None, status: str | None = None,
                    created_gte: datetime | None = None, created_lte: datetime | None = None,
                    reference: str | None = None) -> Page[PayoutRow]:
    """A page of payout rows, newest first (all merchants when `merchant_id` is None)."""
    limit = clamp(limit)
    rows = await repository.newest_first(merchant_id, before=decode_cursor(cursor), fetch=limit + 1, status=status,
                                         created_gte=created_gte, created_lte=created_lte, reference=reference)
    return cut(rows, limit, position=_number)


def _number(row: PayoutRow) -> int:
    assert row.number is not None  # only a row not yet inserted has none
    return row.number


async def list_page(merchant_id: str, *, limit: int, cursor: str | None, status: str | None = None,
                    created_gte: datetime | None = None, created_lte: datetime | None = None,
                    reference: str | None = None) -> PayoutPage:
    page = await list_rows(merchant_id, limit=limit, cursor=cursor, status=status, created_gte=created_gte,
                           created_lte=created_lte, reference=reference)
    return PayoutPage(data=[to_api(r) for r in page.rows], has_more=page.has_more, next_cursor=page.next_cursor)


class Change(msgspec.Struct, frozen=True):
    """A status change decided, not yet written: the payout as it leaves it, the event
    that describes it, and its ledger posting when it moves money."""

    after: PayoutRow
    event: Event
    posting: Posting | None


def prepare_transition(row: PayoutRow, to_status: str, *, reason: str | None, at: datetime,
                       next_action_at: datetime | None = None,
                       allowed_from: frozenset[str] | None = None) -> Change:
    """The rule of every status change (API, worker, IPN and admin alike), decided without
    the database: whether the payout's status allows the move, the row after it, its
    `payout.<status>` event and its posting.

    `row`: the payout, locked by the caller's transaction, with any other column the
    caller changes in the same write already replaced (e.g.
    `msgspec.structs.replace(row, step_index=...)`). `next_action_at`: when the payout's
    next step is due; None (the default) leaves nothing due, so a cancelled or rejected
    payout keeps no step job or sweeper busy. `allowed_from` narrows the statuses the
    move may start from (an admin may reject only what waits for them). Entering
    `processing` counts an attempt. Raises InvalidTransition."""
    if to_status not in states.NEXT[states.PayoutStatus(row.status)] or (
            allowed_from is not None and row.status not in allowed_from):
        raise InvalidTransition(row.status, to_status)
    history = _encode.encode(msgspec.json.decode(row.status_history)
                             + [{"status": to_status, "at": iso(at), "reason": reason}])
    # The row as the write leaves it (it is locked: nothing else changes it), which the
    # event shows: the write needs no RETURNING and nothing is read again.
    after = msgspec.structs.replace(
        row, status=to_status, status_history=history.decode(), updated_at=at, next_action_at=next_action_at,
        attempts=row.attempts + (1 if to_status == states.PROCESSING else 0),
    )
    kind = states.ledger_kind(row.status, to_status)
    posting = ledger.posting(row.merchant, kind, row.amount, row.id, at) if kind else None
    event = Event(id=new_id("evt"), type=f"payout.{to_status}", data=_encode.encode(to_api(after)).decode())
    return Change(after, event, posting)


async def transition(row: PayoutRow, to_status: str, *, reason: str | None, at: datetime,
                     next_action_at: datetime | None = None,
                     allowed_from: frozenset[str] | None = None) -> PayoutRow:
    """Move one payout to `to_status` (see `prepare_transition`) with its posting and
    event, in one statement, inside the caller's transaction (this function opens none).
    Returns the payout as it is now. Raises InvalidTransition, or InsufficientFunds when
    the ledger refused the posting. The worker writes a claimed group's changes together
    instead (`engine.apply_due_group`)."""
    if db.current() is None:
        raise RuntimeError("transition runs inside the caller's transaction")
    change = prepare_transition(row, to_status, reason=reason, at=at, next_action_at=next_action_at,
                                allowed_from=allowed_from)
    changed = await repository.change_status(change.after, change.event, change.posting)
    if change.posting is not None:
        await ledger.after_posting(row.merchant, changed)
    await outbox.event_written()
    return change.after


async def cancel(payout_id: str, merchant_id: str, reason: str | None) -> Payout:
    """The merchant cancels a payout the bank has not seen (see `states.may_cancel`)."""
    async with db.transaction():
        row = await get_row(payout_id, merchant_id, lock=True)
        if row.status in states.CANCELLABLE and not states.may_cancel(row.status, row.psp_reference is not None):
            raise PayoutNotCancelable()
        row = await transition(row, states.CANCELLED, reason=reason or "cancelled by the merchant", at=now(),
                               allowed_from=states.CANCELLABLE)
    return to_api(row)
