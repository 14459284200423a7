"""Many payouts written set-based, one statement for the lot: a batch chunk's new
payouts of one merchant (`insert_many`) and the writer's plans (`write_steps`). The
rows' other SQL lives in `repository`; as there, callers own the transaction."""

from __future__ import annotations

from sandbox import db
from sandbox.ledger.service import Posting, many_args
from sandbox.payouts.model.rows import PayoutRow
from sandbox.payouts.store.repository import Event

# The plans of one writer's call in one statement (`writer.write`): every payout as its
# plan leaves it, and their events in order (a payout's in the order of its moves), all
# by one call of `outbox_emit_many`, and with `_AND_POSTED` one merchant's postings last
# (`ledger_post_many`, $21..$26: `ledger.post_many_args`), so the merchant's balance row
# is locked only from the end of the transaction's last statement to its commit. Only a
# reinitiation to a corrected destination changes a payout's destination and scenario
# (and with it its script: a merchant's own scenario's, or none): a NULL scenario leaves
# the three. $1..$10, $18..$20: the rows' columns; $11..$17: the events'.
_WRITE_STEPS_SQL = """
WITH changed AS (
    UPDATE payout p
       SET status = u.status, status_history = u.status_history, attempts = u.attempts, updated_at = u.updated_at,
           failure_code = u.failure_code, psp_reference = u.psp_reference, next_action_at = u.next_action_at,
           track = u.track, step_index = u.step_index, scenario = COALESCE(u.scenario, p.scenario),
           destination = COALESCE(u.destination, p.destination),
           script = CASE WHEN u.scenario IS NULL THEN p.script ELSE u.script END
      FROM unnest($1::varchar[], $2::varchar[], $3::jsonb[], $4::int[], $5::timestamptz[], $6::varchar[],
                  $7::varchar[], $8::timestamptz[], $9::varchar[], $10::int[], $18::varchar[], $19::jsonb[],
                  $20::jsonb[])
           AS u(id, status, status_history, attempts, updated_at, failure_code, psp_reference, next_action_at,
                track, step_index, scenario, destination, script)
     WHERE p.id = u.id
    RETURNING p.id
), emitted AS (
    SELECT outbox_emit_many($11::varchar[], $12::varchar[], $13::varchar[], $14::varchar[], $15::text[]::jsonb[],
                            $16::timestamptz[], $17::text[]::jsonb[]) AS n
)
SELECT (SELECT count(*) FROM changed), (SELECT n FROM emitted)"""
# Scalar subqueries run in order: the rows and events are written before the postings.
_WRITE_STEPS_AND_POSTED_SQL = _WRITE_STEPS_SQL + """,
       (SELECT count(*) FROM ledger_post_many($21, $22, $23, $24, $25, $26))"""


async def write_steps(rows: list[PayoutRow], events: list[tuple[PayoutRow, Event]], rerouted: list[bool],
                      posting: tuple = ()) -> int:
    """Write the payouts (locked by the caller) as `rows` show them (their scenario and
    destination only where `rerouted`), and each event with the payout as it describes
    it, in one statement; with `posting` (`ledger.post_many_args`), one merchant's
    postings last in the same statement. Returns how many postings were made: all, or
    none when the ledger refused them (0 without `posting`)."""
    if not rows:
        return 0
    moved = [r if changed else None for r, changed in zip(rows, rerouted, strict=True)]
    written = await db.fetchrow(
        _WRITE_STEPS_AND_POSTED_SQL if posting else _WRITE_STEPS_SQL,
        [r.id for r in rows], [r.status for r in rows], [r.status_history for r in rows], [r.attempts for r in rows],
        [r.updated_at for r in rows], [r.failure_code for r in rows], [r.psp_reference for r in rows],
        [r.next_action_at for r in rows], [r.track for r in rows], [r.step_index for r in rows],
        [e.id for _, e in events], [r.merchant for r, _ in events], [e.type for _, e in events],
        [r.id for r, _ in events], [e.data for _, e in events], [r.updated_at for r, _ in events],
        [e.request for _, e in events],
        [r and r.scenario for r in moved], [r and r.destination for r in moved], [r and r.script for r in moved],
        *posting,
    )
    return written[2] if posting and written is not None else 0


# Many payouts of one merchant in one statement: the postings that lock their funds, in
# row order, all in one call of `ledger_post_many` (one update of the balance row, all
# or nothing), then only if accepted the payouts and their events. $1..$12: the rows'
# columns as arrays, and $21 theirs too (`script`); $13, $15, $17..$19: what they
# share; $14, $16, $20: each row's posting (`ledger.many_args`).
_INSERT_MANY_SQL = """
WITH p AS (
    SELECT * FROM unnest($1::varchar[], $2::bigint[], $3::varchar[], $4::varchar[], $5::jsonb[], $6::varchar[],
                         $7::text[], $8::jsonb[], $9::jsonb[], $10::timestamptz[], $11::varchar[], $12::jsonb[],
                         $21::jsonb[])
           WITH ORDINALITY AS p(id, amount, status, scenario, destination, reference, description, metadata,
                                status_history, next_action_at, event_id, event_data, script, ord)
), posted AS (
    SELECT p.* FROM p JOIN ledger_post_many($13, $15, $14::varchar[], $1::varchar[], $16::text[], $20::bigint[]) AS lp
                      ON lp.payout_id = p.id
), created AS (
    INSERT INTO payout (id, merchant, amount, currency, status, scenario, destination, reference,
                        description, metadata, attempts, failure_code, psp_reference, status_history,
                        track, step_index, next_action_at, created_at, updated_at, script)
    SELECT id, $13, amount, $17, status, scenario, destination, reference, description, metadata, 0, NULL, NULL,
           status_history, $18, 0, next_action_at, $15, $15, script
      FROM posted ORDER BY ord
    RETURNING id
), emitted AS (
    SELECT outbox_emit(p.event_id, $13, $19, p.id, p.event_data, $15) FROM created JOIN p USING (id)
)
SELECT count(*) FROM emitted
"""


async def insert_many(rows: list[PayoutRow], postings: list[Posting], events: list[Event]) -> int:
    """Insert new payouts of one merchant, all created at the same time on the same
    track, each with the posting that locks its funds and the event that announces it,
    in one statement. Returns how many were written: all of them, or none when the
    ledger refused their postings' sum."""
    if not rows:
        return 0
    first = rows[0]
    kinds, _, buckets, amounts = many_args(postings)
    return await db.fetchval(
        _INSERT_MANY_SQL,
        [r.id for r in rows], [r.amount for r in rows], [r.status for r in rows], [r.scenario for r in rows],
        [r.destination for r in rows], [r.reference for r in rows], [r.description for r in rows],
        [r.metadata for r in rows], [r.status_history for r in rows], [r.next_action_at for r in rows],
        [e.id for e in events], [e.data for e in events],
        first.merchant, kinds, first.created_at, buckets, first.currency, first.track, events[0].type, amounts,
        [r.script for r in rows],
    )
