"""The worker's side of batches: create the queued items' payouts a chunk per
transaction, set-based: each item decided as POST /payouts would (`payouts.service.prepare`
and the funds left under the locked balance row), then every accepted payout written in
one statement (rows, their ledger postings through `ledger_post`, their events through
`outbox_emit`); then mark the batch completed and emit `batch.completed`, once. First
steps due later are queued in each chunk's one after-commit Redis call, a job per group of them;
first steps already due (every one at time scale 0) are taken by the batch job itself
(`settling`) once the last chunk is written. Items are locked and skipped when locked,
so a job that runs twice, or two at once, never creates a payout twice."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable

import asyncpg
import msgspec

from sandbox import db
from sandbox.batches import service
from sandbox.batches.settling import Settler
from sandbox.core.clock import now
from sandbox.core.errors import ApiError, Conflict, DuplicateReference, InsufficientFunds, NotFound, ValidationFailed
from sandbox.directory import service as directory
from sandbox.events import outbox
from sandbox.ledger import service as ledger
from sandbox.payouts.lifecycle import actions, schedule
from sandbox.payouts.lifecycle import service as payouts
from sandbox.payouts.model.schemas import PayoutCreate
from sandbox.payouts.store import many, own_scenarios
from sandbox.payouts.store import repository as payout_rows
from sandbox.settings import get_settings
from sandbox.teams import quotas

log = logging.getLogger("sandbox.batches")

_decode = msgspec.json.Decoder(PayoutCreate)
# A chunk's payouts whose first step is due at the same time are stepped by one job per
# this many (each payout still in its own transaction): arq's claim and finish of a job
# cost the worker more CPU than the step itself, and a 100,000-row batch is 100,000 steps.
STEP_GROUP = 50
# Items a retry re-initiates per transaction. Each re-initiation posts on the merchant's
# one balance row, which the transaction then holds until it commits, and the merchant's
# own POSTs wait for it: a chunk's 250 would hold it for every failed payout of the batch
# at once (figures in docs/batches-summary-feed-settlements.md).
RETRY_CHUNK = 16
_UPDATE_ITEMS = (
    "UPDATE payout_batch_item i SET status = u.status, reason = u.reason, payout_id = u.payout_id"
    " FROM unnest($1::bigint[], $2::varchar[], $3::text[], $4::varchar[]) AS u(id, status, reason, payout_id)"
    " WHERE i.id = u.id"
)


class _Unforeseen(Exception):
    """The database refused an item the plan expected it to take (a race with another writer)."""


class _Day:
    """The chunk's payouts counted in its team's payouts of the day (`quotas.take_payouts`,
    the rule POST /payouts obeys; refused past the team's bound, if it has one), given back
    if the chunk is not written."""

    def __init__(self, team: tuple[str, int | None] | None) -> None:
        self.team, self.taken = team, 0  # `taken`: counted in the day, to give back if not made

    async def take(self, wanted: int) -> int:
        if self.team is None:
            return wanted
        grant = await quotas.take_payouts(*self.team, wanted)
        if grant.counted:
            self.taken += grant.granted
        return grant.granted

    async def give_back(self, count: int) -> None:
        count = min(count, self.taken)  # none of those taken while Redis was away were counted
        if self.team is not None and count:
            self.taken -= count
            await quotas.give_back_payouts(self.team[0], count)

    def refusal(self) -> ApiError:
        assert self.team is not None and self.team[1] is not None  # only a bound refuses
        return quotas.payouts_exceeded(self.team[0], self.team[1])

    async def keep_within(self, plan: _Plan) -> None:
        """Take the plan's payouts from the day; those past the bound, the last in line
        order, become refusals (`quota_exceeded`)."""
        granted = await self.take(len(plan.accepted))
        for i in list(plan.accepted)[granted:]:
            del plan.accepted[i]
            plan.refused[i] = self.refusal()


class _Plan(msgspec.Struct):
    """A chunk's items: the payouts to create, in line order, and the refusal of each
    other item (by its index in the chunk)."""

    accepted: dict[int, payouts.Prepared]
    refused: dict[int, ApiError]


class _Turn:
    """Line order between a batch's chunks run side by side (`_chunks`): a chunk claims its
    items and takes the balance row while it holds the turn, and gives the turn up once
    the row is its own. The next chunk then claims the next lines and decides them
    outside the lock meanwhile, and asks for the row after this one, as PostgreSQL queues
    it. Without the turn, two chunks' claims running at once could split one chunk's lines
    between them, and either could take the row first: a later line then had the funds
    an earlier one was refused for (seen: 5 of 6 rows made where line order makes 4). A
    chunk redone item by item after a refusal it did not foresee (`_Unforeseen`: a
    reference taken by a POST meanwhile) takes the turn again, after the next chunk."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._holder: object | None = None

    async def take(self) -> object:
        await self._lock.acquire()
        self._holder = holder = object()
        return holder

    def give(self, holder: object) -> None:
        """Give the turn up if `holder` still has it (it may have already)."""
        if self._holder is holder:
            self._holder = None
            self._lock.release()


async def _plan(merchant_id: str, bodies: list[PayoutCreate], at, locked: Callable[[], None]) -> _Plan:
    """Decide each item as `payouts.create` would, one after the other in line order:
    the amount and destination rules, references already used, and funds. The balance
    row is locked from the funds check until the chunk commits, so the funds arithmetic
    is the one the ledger will do: an item beyond the funds left is refused and a later,
    smaller one may still be created, exactly as POSTing them one by one would. The rest
    is decided before the lock: every posting of the merchant waits while it is held."""
    used = await payout_rows.existing_references(merchant_id, [b.reference for b in bodies if b.reference])
    book = await directory.get()
    own = await own_scenarios.of_merchant(merchant_id)  # the merchant's own scenarios its rows may pick
    plan = _Plan(accepted={}, refused={})
    prepared: dict[int, payouts.Prepared] = {}
    for i, body in enumerate(bodies):
        try:
            prepared[i] = payouts.prepare(merchant_id, body, book, at, own)
        except ValidationFailed as exc:
            plan.refused[i] = exc
    available = await db.fetchval("SELECT available FROM balance WHERE merchant = $1 FOR UPDATE", merchant_id)
    locked()  # the row is this chunk's: the next chunk may claim and decide its lines
    if available is None:
        raise NotFound("No balance for this merchant")
    for i, new in prepared.items():
        body = bodies[i]
        if body.reference is not None and body.reference in used:
            plan.refused[i] = DuplicateReference(f"Reference {body.reference!r} is already used by another payout")
        elif new.row.amount > available:
            plan.refused[i] = InsufficientFunds("The available balance does not cover this amount")
        else:
            available -= new.row.amount
            if body.reference is not None:
                used.add(body.reference)
            plan.accepted[i] = new
    return plan


async def _create_planned(merchant_id: str, plan: _Plan, due_now: list[list[str]] | None) -> dict[int, str]:
    """Create the planned payouts in one statement (rows, postings, events). First steps
    already due are added to `due_now` once the chunk commits; the others are queued in
    the transaction's one after-commit Redis call, a job per group."""
    news = list(plan.accepted.values())
    if not news:
        return {}
    postings = [ledger.posting(merchant_id, "payout_created", n.row.amount, n.row.id, n.row.created_at) for n in news]
    try:
        created = await many.insert_many([n.row for n in news], postings, [n.events[0] for n in news])
    except asyncpg.UniqueViolationError as exc:  # a reference taken since the plan read them
        raise _Unforeseen from exc
    if created != len(news):
        raise _Unforeseen
    await ledger.after_posting(merchant_id, True)
    await outbox.event_written()
    for n in news:  # `payout.in_review` after `payout.created`, for the few at the review threshold
        for event in n.events[1:]:
            await outbox.emit(merchant_id, event.type, msgspec.json.decode(event.data), n.row.id, n.row.created_at)
    due: dict = {}
    at_once, created_at = [], news[0].row.created_at
    for n in news:
        if due_now is not None and n.first_step_at is not None and n.first_step_at <= created_at:
            at_once.append(n.row.id)
        elif n.first_step_at is not None:
            due.setdefault(n.first_step_at, []).append(n.row.id)
    if at_once and due_now is not None:  # at_once fills only when due_now is given
        async def committed() -> None:
            due_now.append(at_once)

        await db.after_commit(committed)
    for at, ids in due.items():
        for start in range(0, len(ids), STEP_GROUP):
            await schedule.schedule_group(ids[start:start + STEP_GROUP], schedule.MAIN, 0, at)
    return {i: n.row.id for i, n in plan.accepted.items()}


async def _create_each(merchant_id: str, bodies: list[PayoutCreate], tx,
                       day: _Day) -> tuple[dict[int, str], dict[int, ApiError]]:
    """The careful way: `payouts.create` per item, each in a savepoint and taken from the
    day's payouts first. Returns the payout id of each created item and the refusal of
    each other one."""
    created: dict[int, str] = {}
    refused: dict[int, ApiError] = {}
    for i, body in enumerate(bodies):
        if not await day.take(1):
            refused[i] = day.refusal()
            continue
        savepoint = await tx.savepoint()
        try:
            created[i] = (await payouts.create(merchant_id, body)).id
        except ApiError as exc:
            await savepoint.rollback_to()
            await day.give_back(1)
            refused[i] = exc
    return created, refused


async def _create_chunk(batch_id: str, size: int, careful: bool = False,
                        due_now: list[list[str]] | None = None, turn: _Turn | None = None) -> int:
    """Create the payouts of up to `size` queued items in one transaction: planned, then
    written in one statement. If the database refuses what the plan accepted, the chunk
    is rolled back and done `careful`ly, item by item. The payouts are taken from the
    team's payouts of the day before they are written, and given back if they are not."""
    day = _Day(None)
    try:
        return await _write_chunk(batch_id, size, careful, due_now, day, turn or _Turn())
    except BaseException:
        await day.give_back(day.taken)
        raise


async def _write_chunk(batch_id: str, size: int, careful: bool, due_now: list[list[str]] | None,
                       day: _Day, turn: _Turn) -> int:
    holder = await turn.take()
    try:
        return await _write_chunk_in_turn(batch_id, size, careful, due_now, day,
                                          functools.partial(turn.give, holder))
    finally:
        turn.give(holder)  # no items, a careful chunk's end, or a failure before the row


async def _write_chunk_in_turn(batch_id: str, size: int, careful: bool, due_now: list[list[str]] | None,
                               day: _Day, locked: Callable[[], None]) -> int:
    async with db.transaction() as tx:
        batch = await db.fetchrow("SELECT merchant, status FROM payout_batch WHERE id = $1", batch_id)
        if batch is None or batch["status"] != "processing":
            return 0
        items = await db.fetch(
            "SELECT id, payload FROM payout_batch_item WHERE batch = $1 AND status = 'queued'"
            " ORDER BY line LIMIT $2 FOR UPDATE SKIP LOCKED",
            batch_id, size,
        )
        if not items:
            return 0
        bodies = [_decode.decode(item["payload"]) for item in items]
        merchant = batch["merchant"]
        day.team = await quotas.day_of_merchant(merchant)
        if careful:
            payout_ids, refused = await _create_each(merchant, bodies, tx, day)
        else:
            plan = await _plan(merchant, bodies, now(), locked)
            await day.keep_within(plan)
            payout_ids, refused = await _create_planned(merchant, plan, due_now), plan.refused
        statuses, reasons = [], []
        for i in range(len(items)):
            exc = refused.get(i)
            statuses.append("created" if exc is None else "invalid" if isinstance(exc, ValidationFailed) else "refused")
            reasons.append(f"{exc.code}: {exc.detail}" if exc is not None else None)
        await db.execute(_UPDATE_ITEMS, [item["id"] for item in items], statuses, reasons,
                         [payout_ids.get(i) for i in range(len(items))])
        await db.execute("UPDATE payout_batch SET updated_at = $2 WHERE id = $1", batch_id, now())
        return len(items)


async def _create_chunk_or_retry(batch_id: str, size: int, due_now: list[list[str]] | None = None,
                                 turn: _Turn | None = None) -> int:
    try:
        return await _create_chunk(batch_id, size, due_now=due_now, turn=turn)
    except _Unforeseen:
        log.info("batch %s: a refusal was not foreseen; doing the chunk item by item", batch_id)
        return await _create_chunk(batch_id, size, careful=True, turn=turn)


async def _finish(batch_id: str) -> bool:
    async with db.transaction():
        row = await db.fetchrow(
            f"""UPDATE payout_batch b SET status = CASE WHEN EXISTS (
                    SELECT 1 FROM payout_batch_item WHERE batch = b.id AND status IN ('invalid', 'refused'))
                    THEN 'completed_with_errors' ELSE 'completed' END, completed_at = $2, updated_at = $2
                 WHERE id = $1 AND status = 'processing'
                   AND NOT EXISTS (SELECT 1 FROM payout_batch_item WHERE batch = $1 AND status = 'queued')
             RETURNING {service.COLUMNS}""",
            batch_id, now(),
        )
        if row is None:
            return False
        await outbox.emit(row["merchant"], "batch.completed", await service.event_data(row), None, row["updated_at"])
    return True


async def _chunks(work, batch_id: str, size: int | None = None) -> int:
    """Run chunks (of `size`, SANDBOX_BATCH_CHUNK unless given) until none is left, two
    at a time: while one holds the balance row and writes, the other reads and decides its
    next items outside the lock."""
    size = size or get_settings().batch_chunk

    async def loop() -> int:
        done = 0
        while n := await work(batch_id, size):
            done += n
        return done

    return sum(await asyncio.gather(loop(), loop()))


async def process(batch_id: str) -> int:
    """Create payouts for every queued item, chunk after chunk, then step those whose
    first step was due at once (see `settling`); returns how many items.

    Not while the chunks are written: every step that moves money posts on the batch
    merchant's one balance row, as every chunk does, and each chunk would wait behind
    them (the sweeper leaves these payouts alone meanwhile, see `overdue`). The row
    serialises both either way, so stepping after the last chunk costs the batch's
    last payout no time, and its first ones a wait of one creation."""
    due_now: list[list[str]] = []
    done = await _chunks(functools.partial(_create_chunk_or_retry, due_now=due_now, turn=_Turn()), batch_id)
    if await _finish(batch_id):
        log.info("batch %s completed", batch_id)
    settler = Settler()
    try:
        for payout_ids in due_now:
            await settler.hand_over(payout_ids)
        await settler.drain()
    finally:
        settler.cancel()
    return done


async def _retry_chunk(batch_id: str, size: int) -> int:
    async with db.transaction() as tx:
        merchant = await db.fetchval("SELECT merchant FROM payout_batch WHERE id = $1", batch_id)
        items = await db.fetch(
            "SELECT id, payout_id FROM payout_batch_item WHERE batch = $1 AND retry = 'requested'"
            " ORDER BY line LIMIT $2 FOR UPDATE SKIP LOCKED",
            batch_id, size,
        )
        ids, results, reasons = [], [], []
        for item in items:
            savepoint = await tx.savepoint()
            try:
                await actions.reinitiate(item["payout_id"], merchant, None)
            except (Conflict, NotFound) as exc:  # no longer failed: nothing to retry
                await savepoint.rollback_to()
                result, reason = "skipped", exc.detail
            except ApiError as exc:
                await savepoint.rollback_to()
                result, reason = "refused", f"{exc.code}: {exc.detail}"
            else:
                result, reason = "done", None
            ids.append(item["id"])
            results.append(result)
            reasons.append(reason)
        if ids:
            await db.execute(
                "UPDATE payout_batch_item i SET retry = u.retry, retry_reason = u.reason"
                " FROM unnest($1::bigint[], $2::varchar[], $3::text[]) AS u(id, retry, reason) WHERE i.id = u.id",
                ids, results, reasons,
            )
        return len(items)


async def retry(batch_id: str) -> int:
    """Re-initiate every item marked for retry (each once), RETRY_CHUNK a transaction."""
    return await _chunks(_retry_chunk, batch_id, RETRY_CHUNK)


async def stalled(older_than_s: float) -> tuple[list[str], list[str]]:
    """Batches whose job was lost (no progress for a while), and batches with retries
    waiting: for the sweeper to enqueue again."""
    processing = await db.fetch(
        "SELECT id FROM payout_batch WHERE status = 'processing' AND updated_at < now() - make_interval(secs => $1)",
        older_than_s,
    )
    retrying = await db.fetch("SELECT DISTINCT batch FROM payout_batch_item WHERE retry = 'requested'")
    return [r["id"] for r in processing], [r["batch"] for r in retrying]
