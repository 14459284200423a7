"""`payout_claim_due` v02: a claim among given payouts (a batch's group, `p_only`) looks
each up by primary key, whatever the statistics said when the connection planned it. v01
left the planner free to walk the due index there, and with few payouts due at planning
time it did (seen in the test suite: 25 due of 448), a walk past every older due payout
on every claim of a big batch's groups."""

from sandbox.sql import versions

ID = "2026-11-28T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "a claim among given payouts looks them up by key"

FORWARDS = [*versions.load("payout_claim_due", 2)]

BACKWARDS = [*versions.load("payout_claim_due", 1)]


async def forwards():
    from sandbox.db import sql_migration

    return sql_migration(ID, DESCRIPTION, FORWARDS, BACKWARDS)
