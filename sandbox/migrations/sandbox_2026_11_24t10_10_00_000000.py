"""POST /payouts' request log entry commits with the payout, in its one call.

- `request_log_insert` writes one request_log row (its columns named once): the request
  log's in-transaction insert and `payout_create` call it.
- `payout_create` v03 takes the request's entry and writes it when it makes the payout."""

from sandbox.sql import versions

ID = "2026-11-24T10:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "request_log_insert; payout_create writes the request's log entry with the payout"

FORWARDS = [
    *versions.load("request_log_insert", 1),
    *versions.load("payout_create", 3),
]

BACKWARDS = [
    *versions.load("payout_create", 2),
    *versions.drop("request_log_insert"),
]


async def forwards():
    from sandbox.db import sql_migration

    return sql_migration(ID, DESCRIPTION, FORWARDS, BACKWARDS)
