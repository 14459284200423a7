"""A batch chunk's postings in one call, and the batch items a chunk looks for indexed.

`ledger_post_many`: many postings of one kind for one merchant, as `ledger_post` would
make them one after the other, in one call and one update of the balance row.

A batch chunk creates hundreds of payouts, each with its `payout_created` posting. Through
`ledger_post` per payout that is hundreds of function calls, each updating the merchant's
one balance row and inserting its rows one by one, while every other posting of the
merchant waits on that row's lock: about half of a chunk's statement. Here the balance
row is updated once, by the sum, and the transactions and their legs are inserted
set-based. What
comes out is what `ledger_post` called once per posting, in order, would write: one
ledger transaction per posting, legs in the order given, the merchant's legs numbered
with the next gapless seqs in posting order (tests/batches/test_ledger_post_many.py
compares the two). Postings of one kind move every bucket the same way (amounts are
positive), so if the sum leaves no bucket negative neither does any posting before it:
the one guard is each posting's guard. All or nothing: when the sum is refused, no row
is returned and nothing is written.

`payout_batch_item_queued`: a chunk takes the batch's next queued items in line order.
Through (batch, line) it stepped over every item already created first, more at every
chunk (a 100,000-row batch's last chunks over ~100,000 rows). `payout_batch_item_retry`:
the batch sweeper looks for items marked for retry every few seconds; without it, that
reads the whole table."""

from sandbox.sql import versions

ID = "2026-11-23T13:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "ledger_post_many; payout_batch_item indexes of queued items and retries"

FORWARDS = [
    *versions.load("ledger_post_many", 1),
    "CREATE INDEX payout_batch_item_queued ON payout_batch_item (batch, line) WHERE status = 'queued'",
    "CREATE INDEX payout_batch_item_retry ON payout_batch_item (batch) WHERE retry = 'requested'",
]

BACKWARDS = [
    "DROP INDEX IF EXISTS payout_batch_item_retry",
    "DROP INDEX IF EXISTS payout_batch_item_queued",
    *versions.drop("ledger_post_many"),
]


async def forwards():
    from sandbox.db import sql_migration

    return sql_migration(ID, DESCRIPTION, FORWARDS, BACKWARDS)
