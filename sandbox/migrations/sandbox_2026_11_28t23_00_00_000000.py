"""`payout_claim_due` v03: the claim walks the due index in due order whatever the
statistics (enable_sort off; jit off, which the disabled sort's cost would otherwise
switch on). v02 left the planner a sort, and with the payouts in the table in merchant
order (merchant ids follow the clock since 28 Nov) and few a page it read the merchant's
due index, every due row, then sorted them: a fresh clone's suite run planned it so
(seed 1935480166)."""

from sandbox.sql import versions

ID = "2026-11-28T23:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "the claim walks the due index, never a sort"

FORWARDS = [*versions.load("payout_claim_due", 3)]

BACKWARDS = [*versions.load("payout_claim_due", 2)]


async def forwards():
    from sandbox.db import sql_migration

    return sql_migration(ID, DESCRIPTION, FORWARDS, BACKWARDS)
