"""`payout_create` v05: the ledger posting is the call's last statement, so the merchant's
balance row is locked only for the ledger's rows and the commit, as the worker's postings
are; before, a merchant's next POST waited while this one also wrote the payout, its
events, the idempotency key's response and the request's log entry. A balance that cannot
take the posting is seen first, without the lock, and nothing is written; one emptied
meanwhile refuses under the lock and the call raises SQLSTATE 'SBNSF', rolling back all
it wrote (the API answers it as the same refusal)."""

from sandbox.sql import versions

ID = "2026-11-27T19:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "payout_create posts last"

FORWARDS = [*versions.load("payout_create", 5)]

BACKWARDS = [*versions.load("payout_create", 4)]


async def forwards():
    from sandbox.db import sql_migration

    return sql_migration(ID, DESCRIPTION, FORWARDS, BACKWARDS)
