"""The worker's claim of due payouts as a database function that plans its own walk of
the due index (`payout_claim_due`, sandbox/sql/): without bitmap scans, which visited
the heap for every dead entry a payout's steps had left in the index, every claim."""

from sandbox.sql import versions

ID = "2026-11-27T08:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "the claim of due payouts walks the due index in order"

FORWARDS = [*versions.load("payout_claim_due", 1)]

BACKWARDS = [*versions.drop("payout_claim_due")]


async def forwards():
    from sandbox.db import sql_migration

    return sql_migration(ID, DESCRIPTION, FORWARDS, BACKWARDS)
