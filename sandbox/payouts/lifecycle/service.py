"""Payouts: create, read and list. The SQL lives in `repository`; the service decides,
and the caller that owns the transaction is visible in each path. What moves a payout
after it exists is planned by `planner` and written by `writer` (`actions` for people,
`engine` for the worker, the rail and the clock)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

import asyncpg
import msgspec

from sandbox import db
from sandbox import enqueue as queue
from sandbox.core import clock
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
from sandbox.payouts.lifecycle import planner, schedule
from sandbox.payouts.model import destinations, scenarios, states
from sandbox.payouts.model.rows import PayoutRow
from sandbox.payouts.model.scenarios import Scenario
from sandbox.payouts.model.schemas import Destination, Payout, PayoutCreate, PayoutPage, StatusChange
from sandbox.payouts.model.views import to_api
from sandbox.payouts.store import repository
from sandbox.payouts.store.own_scenarios import of_merchant as own_scenarios_of
from sandbox.payouts.store.repository import Event
from sandbox.teams import scope as teams

_encode = msgspec.json.Encoder()


class Prepared(msgspec.Struct, frozen=True):
    """A payout about to be created: the response, the row, its events (`payout.created`,
    and `payout.in_review` when it waits for review) and when its first step is due."""

    payout: Payout
    row: PayoutRow
    events: list[Event]
    first_step_at: datetime | None


def prepare(merchant_id: str, body: PayoutCreate, book: directory.Directory, at: datetime,
            own: Sequence[Scenario] = ()) -> Prepared:
    """Everything the response and the events show, known before the database is asked
    (so a write needs no RETURNING and the row is never decoded again). `own`: the
    merchant's own scenarios, which its payouts may pick too. Raises ValidationFailed
    when the amount, the destination or the scenario asked for breaks a rule."""
    try:
        amount = parse_amount(body.amount)
    except AmountError as exc:
        raise ValidationFailed.field("amount", str(exc)) from None
    dest, number = destinations.validate(
        msgspec.to_builtins(body.destination), book.banks_by_code, book.bank_by_iban_code, book.wallet_codes
    )
    table = scenarios.table()
    scenario = table.for_account(number, own) if body.scenario is None else table.named(body.scenario, own)
    if scenario is None:
        raise ValidationFailed.field("scenario", f"no scenario {body.scenario!r}: GET /sandbox/scenarios lists"
                                                 " the built-in ones and yours")
    status = states.IN_REVIEW if table.needs_review(amount) else states.PENDING
    reason = "amount at or above the review threshold" if status == states.IN_REVIEW else "created"
    payout_id = new_id("po")
    first_step_at = planner.first_step_at(scenario, status, planner.Now(at, clock.scale_now()))
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
        script=scenarios.script_of(scenario),
    )
    data = _encode.encode(payout).decode()
    # A payout created in review has entered `in_review` too: receivers waiting for it
    # (to prompt a reviewer, say) get `payout.in_review` right after `payout.created`.
    events = [Event(id=new_id("evt"), type="payout.created", data=data)]
    if status == states.IN_REVIEW:
        events.append(Event(id=new_id("evt"), type="payout.in_review", data=data))
    return Prepared(payout, row, events, first_step_at)


# Creating a payout is one statement, one round trip. POST /payouts always has the
# request's idempotency `claim`: its one call (`repository.create_keyed`, the database
# function `payout_create`) takes the key, writes the payout row, its events, the stored
# response and the request's log entry, and posts last, so the merchant's balance row is
# locked only for the ledger's rows and the commit: what lets one busy merchant's POSTs
# follow each other closely. Without a claim (the standalone bench's worker phase) the
# posting comes first and the rest only if it was accepted (`repository.insert`).
async def create(merchant_id: str, body: PayoutCreate, claim: KeyClaim | None = None, *,
                 own_scenarios: bool = False, own: Sequence[Scenario] | None = None,
                 on_made: Callable[[], Awaitable[None]] | None = None) -> Payout:
    """`own_scenarios`: the merchant has scenarios of its own (its key says so), which
    this payout may pick; asked for only then, unless the caller read them already (`own`).
    `on_made`: run once the payout is made (not for a replayed key), where the Redis
    commands it sends go with the creation's own, after it commits."""
    if own is None:
        own = await own_scenarios_of(merchant_id) if own_scenarios else ()
    new = prepare(merchant_id, body, await directory.get(), now(), own)
    row = new.row
    posting = ledger.posting(merchant_id, "payout_created", row.amount, row.id, row.created_at)
    if claim is not None:
        await _create_keyed(claim, new.payout, row, posting, new.events, on_made)
        return new.payout
    async with db.transaction():
        try:
            posted = await repository.insert(row, posting, new.events)
        except asyncpg.UniqueViolationError:
            raise _reference_taken(body.reference) from None
        await ledger.after_posting(merchant_id, posted)
        await outbox.event_written()
        await schedule.schedule(row, schedule.MAIN, 0, new.first_step_at)
        if on_made is not None:
            await on_made()
    return new.payout


def _reference_taken(reference: str | None) -> DuplicateReference:
    return DuplicateReference(f"Reference {reference!r} is already used by another payout")


async def _create_keyed(claim: KeyClaim, payout: Payout, row: PayoutRow, posting: Posting,
                        events: list[Event], on_made: Callable[[], Awaitable[None]] | None = None) -> None:
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
        async with queue.one_call():
            await ledger.after_posting(row.merchant, True)
            await outbox.event_written()
            await schedule.schedule(row, schedule.MAIN, 0, row.next_action_at)
            if on_made is not None:
                await on_made()


async def get_row(payout_id: str, merchant_id: str | None, *, lock: bool = False,
                  team: str | None = None) -> PayoutRow:
    """A payout row; another merchant's payout is as missing as one that never existed, and
    so is, with `team` (a team key's), a payout of another team's merchant. With `lock`,
    the row stays locked until the caller's transaction ends."""
    row = await repository.get(payout_id, merchant_id, lock=lock)
    if row is None or (team is not None and not await teams.visible([row.merchant], team)):
        raise NotFound(f"No payout {payout_id}")
    return row


async def get(payout_id: str, merchant_id: str) -> Payout:
    return to_api(await get_row(payout_id, merchant_id))


async def list_rows(merchant_id: str | None, *, limit: int, cursor: str | None, status: str | None = None,
                    created_gte: datetime | None = None, created_lte: datetime | None = None,
                    reference: str | None = None, team: str | None = None) -> Page[PayoutRow]:
    """A page of payout rows, newest first (all merchants when `merchant_id` is None, of
    `team`'s merchants only when it is given)."""
    limit = clamp(limit)
    rows = await repository.newest_first(merchant_id, before=decode_cursor(cursor), fetch=limit + 1, status=status,
                                         created_gte=created_gte, created_lte=created_lte, reference=reference,
                                         team=team)
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
