"""Batch items found by their payout: is this payout one of a batch still processing?

The worker's claims and the sweeper leave a processing batch's payouts to its job (see
`payouts.repository`). They first ask whether the payout's merchant has a batch
processing that began before the payout (one look at the small batch table), and only
then whether the payout is one of that batch's: through this index, one probe, instead of
leaving every payout the merchant made meanwhile (a single POST as well) to wait for the
batch to complete."""

ID = "2026-11-23T16:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "payout_batch_item index by payout"

FORWARDS = ["CREATE INDEX payout_batch_item_payout ON payout_batch_item (payout_id) WHERE payout_id IS NOT NULL"]
BACKWARDS = ["DROP INDEX IF EXISTS payout_batch_item_payout"]


async def forwards():
    from sandbox.db import sql_migration

    return sql_migration(ID, DESCRIPTION, FORWARDS, BACKWARDS)
