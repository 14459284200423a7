"""A POST's and a step's events written by one call, and a POST's shared writes called as
simple expressions (issue 93: a payout's statements).

- `outbox_emit_many` v01: many events and their relay lines in one statement, numbered
  and sequenced as `outbox_emit` numbers one; `outbox_emit` v06 writes its one event
  through it. The worker's steps (sandbox/payouts/store/many.py) call it once for all of a
  statement's events, where a call of `outbox_emit` an event was a statement each.
- `payout_create` v06: payout_insert, outbox_emit_many, idempotency_store and
  request_log_insert are called in PL/pgSQL assignments, not PERFORMs: no SELECT run
  through the executor around each call.

Same arguments and results for every function a release before this one calls, the same
rows written in the same order, so it serves on this schema unchanged."""

from sandbox.sql import versions

ID = "2026-11-30T07:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "events written many to a statement; a POST's shared writes called as simple expressions"

FORWARDS = [
    *versions.load("outbox_emit_many", 1),
    *versions.load("outbox_emit", 6),
    *versions.load("payout_create", 6),
]

BACKWARDS = [
    *versions.load("payout_create", 5),
    *versions.load("outbox_emit", 5),
    *versions.drop("outbox_emit_many"),
]


async def forwards():
    from sandbox.db import sql_migration

    return sql_migration(ID, DESCRIPTION, FORWARDS, BACKWARDS)
