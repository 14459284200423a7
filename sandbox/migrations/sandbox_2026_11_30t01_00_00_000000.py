"""Fewer statements for the same rows (issue 93: a payout's statements).

- `outbox_emit` v05: an event and its `outbox_unrelayed` line in one statement, not two.
- `ledger_post` v02: the legs' sums, the balance's guarded update, the transaction and its
  legs in one statement, not four.
- `ledger_post_many` v03: the same for many postings, one statement, not three.

Each writes the rows it wrote before, in the same order of locks (the balance row first);
the cost bench counts rows from the WAL, so a write moved into a WITH is still counted."""

from sandbox.sql import versions

ID = "2026-11-30T01:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "an event and its relay line, and a posting's balance, transaction and legs, one statement each"

FORWARDS = [
    *versions.load("outbox_emit", 5),
    *versions.load("ledger_post", 2),
    *versions.load("ledger_post_many", 3),
]

BACKWARDS = [
    *versions.load("outbox_emit", 4),
    *versions.load("ledger_post", 1),
    *versions.load("ledger_post_many", 2),
]


async def forwards():
    from sandbox.db import sql_migration

    return sql_migration(ID, DESCRIPTION, FORWARDS, BACKWARDS)
