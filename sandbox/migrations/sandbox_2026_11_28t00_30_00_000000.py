"""Listener endpoints (`sandbox listen`): a webhook endpoint the sandbox cannot reach by a
URL, reached instead down a stream the listener opens to the API.

- `webhook_endpoint.kind`: `url` (the sandbox POSTs to `url`) or `listener` (deliveries go
  down the listener's stream; `url` then reads `listener://<endpoint id>`, which names no
  host and is never dialled).
- `webhook_endpoint.listener_name`: a listener's name, unique among the merchant's live
  endpoints: a listener started again under its name finds its endpoint, and with it every
  delivery made while it was away.
- `webhook_delivery.parked`: an attempt found no listener connected; it waits, unattempted,
  until one connects (the stream un-parks the endpoint's deliveries then)."""

ID = "2026-11-28T00:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "listener endpoints"

FORWARDS = [
    "ALTER TABLE webhook_endpoint ADD COLUMN kind varchar(16) NOT NULL DEFAULT 'url'",
    "ALTER TABLE webhook_endpoint ADD CONSTRAINT webhook_endpoint_kind_known CHECK (kind IN ('url', 'listener'))",
    "ALTER TABLE webhook_endpoint ADD COLUMN listener_name varchar(64) NULL DEFAULT NULL",
    "CREATE UNIQUE INDEX webhook_endpoint_listener ON webhook_endpoint (merchant, listener_name)"
    " WHERE listener_name IS NOT NULL AND deleted_at IS NULL",
    "ALTER TABLE webhook_delivery ADD COLUMN parked boolean NOT NULL DEFAULT false",
    # The growing tables sample 3,000 rows (migration 2026-11-27T13:00): so does this column.
    "ALTER TABLE webhook_delivery ALTER COLUMN parked SET STATISTICS 10",
    # Un-parking reads an endpoint's parked deliveries only.
    "CREATE INDEX webhook_delivery_parked ON webhook_delivery (endpoint) WHERE parked",
]

BACKWARDS = [
    "DROP INDEX webhook_delivery_parked",
    "ALTER TABLE webhook_delivery DROP COLUMN parked",
    "DROP INDEX webhook_endpoint_listener",
    "ALTER TABLE webhook_endpoint DROP COLUMN listener_name",
    "ALTER TABLE webhook_endpoint DROP CONSTRAINT webhook_endpoint_kind_known",
    "ALTER TABLE webhook_endpoint DROP COLUMN kind",
]


async def forwards():
    from sandbox.db import sql_migration

    return sql_migration(ID, DESCRIPTION, FORWARDS, BACKWARDS)
