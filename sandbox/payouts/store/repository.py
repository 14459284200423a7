"""The SQL of the payout row: read, list, insert, claim the due ones, and
the counts and lists over payouts that other packages show (the admin's review queue,
the dashboard's merchant list, coverage, the balance summary, a test clock's due steps).
Each write is one statement (one round trip): a new payout's calls the ledger's
`ledger_post(...)` inside it and writes the payout only if the posting was accepted,
and calls `outbox_emit(...)` for its events. A status change is written by the writer
(`writer.write`), set-based in `many`.
Callers own the transaction; a function that writes never opens one.

The database functions that write payouts live in sandbox/sql/: `payout_insert` (the
new row's columns), `payout_create` (POST /payouts in one call). Payout SQL elsewhere,
each for a reason: a batch's items read their payout's status through a join
(sandbox/batches/service.py: the item is the row there); the bench (sandbox/bench/)
counts what its load made; and `many` writes many payouts of one merchant set-based (a
batch chunk's new rows, with their own column list: a `payout_insert` call per row
doubled a chunk's insert time) and every planned change of a payout (`writer.write`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg
import msgspec

from sandbox import db
from sandbox.idempotency import cause
from sandbox.ledger.service import Posting
from sandbox.payouts.model import states
from sandbox.payouts.model.rows import PayoutRow

COLUMNS = (
    "id, merchant, amount, currency, status, scenario, destination, reference, description, metadata,"
    " attempts, failure_code, psp_reference, status_history, track, step_index, next_action_at, created_at,"
    " updated_at, script, number"
)


class Event(msgspec.Struct, frozen=True):
    """The outbox event that describes a write, as `outbox_emit` takes it. Its cause is
    the API request this task serves (None for the worker, the rail's callback, a clock),
    taken when the event is made."""

    id: str
    type: str
    data: str  # JSON text
    request: str | None = msgspec.field(default_factory=cause.current_json)  # JSON text


# GET /payouts/{id}'s one statement (the bench's ceiling sends it too).
GET_SQL = f"SELECT {COLUMNS} FROM payout WHERE id = $1 AND ($2::varchar IS NULL OR merchant = $2)"


def _row(record) -> PayoutRow | None:
    return PayoutRow(**record) if record is not None else None


async def get(payout_id: str, merchant_id: str | None, *, lock: bool = False) -> PayoutRow | None:
    """The payout (of `merchant_id`, unless None); with `lock`, locked until the caller's
    transaction ends."""
    return _row(await db.fetchrow(GET_SQL + (" FOR UPDATE" if lock else ""), payout_id, merchant_id))


async def get_by_psp_reference(psp_reference: str, *, lock: bool = False) -> PayoutRow | None:
    return _row(await db.fetchrow(
        f"SELECT {COLUMNS} FROM payout WHERE psp_reference = $1" + (" FOR UPDATE" if lock else ""), psp_reference,
    ))


NEWEST_FIRST_SQL = f"""SELECT {COLUMNS} FROM payout
 WHERE ($1::varchar IS NULL OR merchant = $1)
   AND ($2::bigint IS NULL OR number < $2)
   AND ($3::varchar IS NULL OR status = $3)
   AND ($4::timestamptz IS NULL OR created_at >= $4)
   AND ($5::timestamptz IS NULL OR created_at <= $5)
   AND ($6::varchar IS NULL OR reference = $6)
 ORDER BY number DESC LIMIT $7"""


# An admin's list of one team's payouts (a team key's): the merchant filter becomes the
# team's merchants. A statement of its own, so a merchant's list keeps its plan.
NEWEST_FIRST_OF_TEAM_SQL = NEWEST_FIRST_SQL.replace(
    " ORDER BY", "   AND merchant IN (SELECT id FROM merchant WHERE team = $8)\n ORDER BY")


async def newest_first(merchant_id: str | None, *, before: int | None, fetch: int, status: str | None,
                       created_gte: datetime | None, created_lte: datetime | None,
                       reference: str | None, team: str | None = None) -> list[PayoutRow]:
    """Up to `fetch` payouts numbered below `before`, newest first (all merchants when
    `merchant_id` is None; only `team`'s merchants' when it is given); each filter applies
    when not None."""
    if team is not None:
        records = await db.fetch(NEWEST_FIRST_OF_TEAM_SQL, merchant_id, before, status, created_gte, created_lte,
                                 reference, fetch, team)
        return [PayoutRow(**r) for r in records]
    records = await db.fetch(NEWEST_FIRST_SQL, merchant_id, before, status, created_gte, created_lte, reference,
                             fetch)
    return [PayoutRow(**r) for r in records]


# One probe of the (merchant, reference) index per reference, whatever the statistics
# say: a batch's chunks ask this while their own inserts grow the table faster than
# autovacuum analyzes it, and `reference = ANY(...)` then became a filter over every
# payout of the merchant (a 100,000-row batch's chunks spent as long here as writing).
_EXISTING_REFERENCES_SQL = """
SELECT r.reference FROM unnest($2::varchar[]) AS r(reference)
 CROSS JOIN LATERAL (SELECT 1 FROM payout p WHERE p.merchant = $1 AND p.reference = r.reference LIMIT 1) AS found
"""


async def existing_references(merchant_id: str, references: list[str]) -> set[str]:
    return {r["reference"] for r in await db.fetch(_EXISTING_REFERENCES_SQL, merchant_id, references)}


# A processing batch's payouts are its job's to step (see `overdue`); the batch job claims
# them by id once its chunks are written. First the cheap question (has the merchant a
# batch processing that began before this payout? one look at the small batch table),
# then, only if so, whether the payout is one of its items (one index probe): a single
# POST made meanwhile is the worker's as usual. Inside NOT (...) the two stay subplans,
# asked in this order.
_IN_PROCESSING_BATCH = """(EXISTS (SELECT 1 FROM payout_batch b WHERE b.merchant = payout.merchant
                                     AND b.status = 'processing' AND b.created_at <= payout.created_at)
                           AND EXISTS (SELECT 1 FROM payout_batch_item i JOIN payout_batch b ON b.id = i.batch
                                        WHERE i.payout_id = payout.id AND b.status = 'processing'))"""


async def overdue(before: datetime, limit: int, steps: list[str] | None = None) -> list[tuple[str, str, int]]:
    """(id, track, step_index) of payouts whose next step was due before `before`, oldest first;
    with `steps`, only those at one of them (`scenario:track:index`) or at a step the rail
    reports of a merchant's own scenario (its `script` lists them). Payouts of merchants
    on a manual clock are never overdue in real time: left out. So are the payouts of a
    batch still processing: the batch job steps them once it has created them all, and
    steps taken meanwhile would queue on the merchant's balance row in front of its
    chunks (once the batch is completed, or its job lost and done again, whatever is left
    is overdue as usual)."""
    rows = await db.fetch(
        "SELECT id, track, step_index FROM payout WHERE next_action_at < $1"
        " AND NOT EXISTS (SELECT 1 FROM merchant_clock c WHERE c.merchant = payout.merchant)"
        f" AND NOT {_IN_PROCESSING_BATCH}"
        " AND ($3::text[] IS NULL OR scenario || ':' || track || ':' || step_index = ANY($3::text[])"
        "      OR (script->'rail') ? (track || ':' || step_index))"
        " ORDER BY next_action_at LIMIT $2",
        before, limit, steps,
    )
    return [(r["id"], r["track"], r["step_index"]) for r in rows]


# Which of `$2` claimers' shares (`claim_due`'s `share`) hold a payout whose step was due
# by $1: a `step_due` pass starts claimers for those only (a claimer that took fewer than
# it asked for is told by its claim whether its share holds more, `others_due`). A claim
# is a transaction, three round trips, whether or not it finds anything; this is one
# statement. A superset of what the claims take (their other conditions are left out), so
# a share it names may still claim nothing. Each share's EXISTS is written as a walk of the
# due index in due order (ORDER BY, LIMIT 1); PostgreSQL plans it as it likes: with half of
# 3,000 payouts due (tests/sql/test_worker_plans.py's data, analyzed) it reads the table
# whole, once a pass (seen on 30 Nov, not changed).
_DUE_SHARES_SQL = """
SELECT array_agg(k ORDER BY k) FROM generate_series(0, $2 - 1) AS k
 WHERE EXISTS (SELECT 1 FROM payout p WHERE p.next_action_at <= $1 AND abs(hashtext(p.merchant)) % $2 = k
                ORDER BY p.next_action_at LIMIT 1)
"""


async def due_shares(at: datetime, shares: int) -> list[int]:
    """The shares (of `shares`) that may hold a payout due by `at`."""
    return await db.fetchval(_DUE_SHARES_SQL, at, shares) or []


# One merchant's payouts per claim: the claimer's transaction then holds one balance row
# (its postings'), and POSTs of other merchants never wait for it. The merchant is the
# one of the oldest due payout nobody holds. Claimed rows stay locked until the
# claimer's transaction ends; rows locked by anyone else are skipped (their holder steps
# them, or they are still due for the next claim). The claim is the database function
# `payout_claim_due` (sandbox/sql/), which plans its walk of the due index itself.
# With the rows, `others_due`: when the claim took fewer than it asked for ($3), whether a
# payout of another merchant of the share was due by $1 as well: `due_shares`' question
# for one share, asked in the claim's statement rather than in one of its own after the
# commit (a payout settled alone paid a statement and a round trip for it). An InitPlan,
# run only when the CASE reaches it, so a full claim asks nothing, as before.
_CLAIM_DUE_SQL = f"""
WITH claimed AS (SELECT * FROM payout_claim_due($1, $2, $3, $4, $5, $6, $7))
SELECT {COLUMNS},
       CASE WHEN (SELECT count(*) FROM claimed) >= $3 THEN true
            ELSE EXISTS (SELECT 1 FROM payout p
                          WHERE p.next_action_at <= $1 AND abs(hashtext(p.merchant)) % $5 = $6
                            AND p.merchant <> (SELECT c.merchant FROM claimed c LIMIT 1)
                          ORDER BY p.next_action_at LIMIT 1) END AS others_due
  FROM claimed
"""


@dataclass(frozen=True, slots=True)
class DueClaim:
    """What `claim_due` locked, and whether another merchant of its share had a payout due
    as well (a superset, as `due_shares` is: the claim's other conditions are left out)."""
    rows: list[PayoutRow]
    others_due: bool


async def claim_due(at: datetime, limit: int, leave: list[str], *, skip: Sequence[str] = (),
                    only: list[str] | None = None, share: tuple[int, int] = (1, 0)) -> DueClaim:
    """Lock and return up to `limit` payouts of one merchant whose next step was due by
    `at`, oldest first, skipping rows another transaction holds: live-clock merchants'
    only, and not those at a step in `leave` (`scenario:track:index`) or at a step the
    rail reports of a merchant's own scenario (in the payout's `script`), nor those in
    `skip` or in a batch still processing; with `only`, among those ids alone. `share`
    (n, k): only merchants whose hash is k modulo n, so that n claimers never take the
    same merchant's payouts. No rows: nothing (more) is due."""
    records = await db.fetch(_CLAIM_DUE_SQL, at, leave, limit, list(skip), *share, only)
    others_due = bool(records) and records[0]["others_due"]
    return DueClaim([PayoutRow(**{k: v for k, v in r.items() if k != "others_due"}) for r in records], others_due)


# `payout_insert` (sandbox/sql/) names the new row's columns, for this and `payout_create`.
_INSERT_SQL = """
WITH posted AS (
    SELECT transaction_id FROM ledger_post($1, $2, $3, $4, $5, $6)
), created AS (
    SELECT payout_insert($7, $8, $9, $10, $11, $12, $13::jsonb, $14, $15, $16::jsonb, $17, $18, $19, $20::jsonb,
                         $21, $22, $23, $24, $25, $30::jsonb)
      FROM posted
)
SELECT count(*) FROM (
    SELECT outbox_emit(e.id, $8, e.type, $7, e.data::jsonb, $24, e.request::jsonb)
      FROM created, unnest($26::varchar[], $27::varchar[], $28::text[], $29::text[])
           WITH ORDINALITY AS e(id, type, data, request, ord)
     ORDER BY e.ord  -- each event's sequence is its place in the list (payout.created first)
) AS emitted
"""


async def insert(row: PayoutRow, posting: Posting, events: list[Event]) -> bool:
    """Insert the payout with the posting that locks its funds and the events that
    announce it, in order. False when the ledger refused the posting (then nothing was
    written)."""
    return await db.fetchval(
        _INSERT_SQL, *posting.args(),
        row.id, row.merchant, row.amount, row.currency, row.status, row.scenario, row.destination, row.reference,
        row.description, row.metadata, row.attempts, row.failure_code, row.psp_reference, row.status_history,
        row.track, row.step_index, row.next_action_at, row.created_at, row.updated_at,
        [e.id for e in events], [e.type for e in events], [e.data for e in events], [e.request for e in events],
        row.script,
    ) == len(events)


_CREATE_SQL = "SELECT outcome, request_hash, response_status, response_headers, response_body FROM payout_create(" + \
    ", ".join(f"${i}" for i in range(1, 57)) + ")"


# `payout_create` raises it when the balance changed under its posting (see v05): the
# whole call rolled back, as a refusal that wrote nothing.
_INSUFFICIENT_FUNDS = "SBNSF"


async def create_keyed(key_args: tuple, row: PayoutRow, posting: Posting, events: list[Event]):
    """`insert`, with the request's idempotency key taken in the same call, outside any
    transaction (the call is its own): the database function `payout_create` takes the
    key's lock, looks up its stored response, and only when there is none makes the
    payout, its events, stores the response in `key_args`, writes the request's log entry
    they carry (`KeyClaim.args`) and last the posting. Returns its outcome row (`in_use`,
    `stored`, `refused` or `created`), or None when the posting was refused under the
    balance's lock (nothing was written); raises UniqueViolationError for a reference
    already used (then nothing was written)."""
    try:
        return await db.fetchrow(
            _CREATE_SQL, *key_args, *posting.args(),
            row.id, row.merchant, row.amount, row.currency, row.status, row.scenario, row.destination, row.reference,
            row.description, row.metadata, row.attempts, row.failure_code, row.psp_reference, row.status_history,
            row.track, row.step_index, row.next_action_at, row.created_at, row.updated_at,
            [e.id for e in events], [e.type for e in events], [e.data for e in events], [e.request for e in events],
            row.script,
        )
    except asyncpg.PostgresError as exc:
        if exc.as_dict().get("sqlstate") != _INSUFFICIENT_FUNDS:
            raise
        return None


# Read models other packages show: counts and lists over payouts, kept here with the
# rest of the payout row's SQL.

_IN_FLIGHT = sorted(s.value for s in states.IN_FLIGHT)


async def due_steps(merchant_id: str, until: datetime | None) -> list[tuple[datetime, str]]:
    """(due time, payout id) of the merchant's payouts with a step due by `until` (any
    time when None), in due order: what advancing its test clock applies."""
    rows = await db.fetch(
        "SELECT next_action_at, id FROM payout WHERE merchant = $1 AND next_action_at IS NOT NULL"
        " AND ($2::timestamptz IS NULL OR next_action_at <= $2) ORDER BY next_action_at, id",
        merchant_id, until,
    )
    return [(r["next_action_at"], r["id"]) for r in rows]


async def next_due(merchant_id: str) -> datetime | None:
    """When the merchant's next payout step falls due (None: none is waiting)."""
    return await db.fetchval("SELECT min(next_action_at) FROM payout WHERE merchant = $1", merchant_id)


async def in_flight_total(merchant_id: str) -> tuple[int, int]:
    """(count, sum of amounts) of the merchant's payouts in flight."""
    row = await db.fetchone(
        "SELECT count(*) AS n, COALESCE(sum(amount), 0)::bigint AS total FROM payout"
        " WHERE merchant = $1 AND status = ANY($2::varchar[])",
        merchant_id, _IN_FLIGHT,
    )
    return row["n"], row["total"]


# $1: the in-flight statuses (they include the two below, so each of those is a part
# of the in-flight total), $2: in review, $3: on hold.
_REQUESTS_SQL = """
SELECT m.id, m.name, b.available, b.locked,
       COUNT(p.id) FILTER (WHERE p.status = $2) AS requested_count,
       COALESCE(SUM(p.amount) FILTER (WHERE p.status = $2), 0)::bigint AS requested_amount,
       COUNT(p.id) AS flight_count,
       COALESCE(SUM(p.amount), 0)::bigint AS flight_amount,
       COUNT(p.id) FILTER (WHERE p.status = $3) AS hold_count,
       COALESCE(SUM(p.amount) FILTER (WHERE p.status = $3), 0)::bigint AS hold_amount
  FROM merchant m
  JOIN balance b ON b.merchant = m.id
  LEFT JOIN payout p ON p.merchant = m.id AND p.status = ANY($1::varchar[])
 WHERE ($4::varchar IS NULL OR m.team = $4)
 GROUP BY m.id, m.name, b.available, b.locked
HAVING COUNT(p.id) > 0
 ORDER BY requested_amount DESC, flight_amount DESC, m.id
"""


async def requests_by_merchant(team: str | None = None) -> list[asyncpg.Record]:
    """The admin's review queue: per merchant with anything in flight, its buckets and the
    count and sum of its payouts in review, on hold and in flight (`requested_*`,
    `hold_*`, `flight_*`), largest requests first; only `team`'s merchants when given."""
    return await db.fetch(_REQUESTS_SQL, _IN_FLIGHT, states.IN_REVIEW.value, states.ON_HOLD.value, team)


async def merchants_overview(limit: int, team: str | None = None) -> list[asyncpg.Record]:
    """The dashboard's merchant list: every merchant (of `team`, when given; newest first)
    with its buckets, its number of payouts and of those in review and on hold."""
    return await db.fetch(
        """SELECT m.id, m.name, m.created_at, b.available, b.locked, b.pending,
                  (SELECT COUNT(*) FROM payout p WHERE p.merchant = m.id) AS payouts,
                  (SELECT COUNT(*) FROM payout p WHERE p.merchant = m.id AND p.status = $2) AS in_review,
                  (SELECT COUNT(*) FROM payout p WHERE p.merchant = m.id AND p.status = $3) AS on_hold
             FROM merchant m JOIN balance b ON b.merchant = m.id
            WHERE ($4::varchar IS NULL OR m.team = $4)
            ORDER BY m.created_at DESC, m.id LIMIT $1""",
        limit, states.IN_REVIEW.value, states.ON_HOLD.value, team,
    )


async def status_histories(merchant_id: str) -> list[tuple[list[str], int]]:
    """The merchant's payouts' whole status histories (a reinitiation spans two
    scenarios), each distinct sequence of statuses with how many payouts went through it."""
    rows = await db.fetch(
        """SELECT count(*) AS n,
                  ARRAY(SELECT h.item->>'status'
                          FROM jsonb_array_elements(status_history) WITH ORDINALITY AS h(item, i)
                         ORDER BY h.i) AS statuses
             FROM payout WHERE merchant = $1
            GROUP BY statuses""",
        merchant_id,
    )
    return [(list(r["statuses"]), r["n"]) for r in rows]


async def scripts_of(merchant_id: str, names: list[str]) -> list[str]:
    """A payout's copy (`script`) of each of these merchant's own scenarios that it made
    payouts on: coverage reads a scenario the merchant has since deleted from it."""
    rows = await db.fetch("SELECT DISTINCT ON (scenario) script FROM payout"
                          " WHERE merchant = $1 AND scenario = ANY($2::varchar[]) AND script IS NOT NULL",
                          merchant_id, names)
    return [r["script"] for r in rows]


async def simulated_notifications(merchant_id: str) -> int:
    """How many rail notifications the merchant's payouts got from POST
    /sandbox/payouts/{id}/simulate, which names them "sim_…" (a scenario's own callbacks
    are named after the step). A notification is for the submission it names: any
    psp_reference the merchant's payouts ever carried (their events keep each one), not only
    the one a payout carries now, which a reinitiation clears and a new submission replaces."""
    return await db.fetchval(
        r"""SELECT count(*) FROM ipn_notification n
             WHERE n.id LIKE 'sim\_%' AND n.psp_reference IN (
                   SELECT e.data->>'psp_reference' FROM outbox_event e
                    WHERE e.merchant = $1 AND e.payout_id IS NOT NULL AND e.data->>'psp_reference' IS NOT NULL
                   UNION SELECT psp_reference FROM payout WHERE merchant = $1 AND psp_reference IS NOT NULL)""",
        merchant_id,
    )
