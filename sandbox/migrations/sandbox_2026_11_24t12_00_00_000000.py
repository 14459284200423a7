"""`ledger_post_many` v02 takes postings of any kinds: a claimed group of payouts steps
in one balance update.

The worker steps due payouts of one merchant many per transaction (`due_claims`). Each
status change that moves money went through `ledger_post` on its own, one round trip
each while the merchant's balance row stayed locked, so every posting of the merchant
queued behind the whole group. The group's postings (paid out, released, ...) mix kinds
that move buckets in different directions, so the guard is each bucket's lowest running
sum, which is what posting them one by one would have checked. A batch chunk's postings
(one kind) come out as before."""

from sandbox.sql import versions

ID = "2026-11-24T12:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "ledger_post_many v02: postings of any kinds, guarded along the way"

FORWARDS = [*versions.load("ledger_post_many", 2)]

BACKWARDS = [*versions.load("ledger_post_many", 1)]


async def forwards():
    from sandbox.db import sql_migration

    return sql_migration(ID, DESCRIPTION, FORWARDS, BACKWARDS)
