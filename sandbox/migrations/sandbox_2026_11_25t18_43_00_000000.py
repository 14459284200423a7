"""A webhook endpoint's signing keys reach the merchant's cached keys.

The request log redacts, by value, every secret the sandbox knows for the merchant
(sandbox/requests/redaction.py), its endpoints' signing keys among them. The auth query
reads them with the key, so the log's entry costs no query of its own; a key made,
rotated or forgotten (a new endpoint, a rotation, a grace period ended) then tells every
API process to forget its cached keys, as a change to a fault rule does. Only a change to
the keys themselves: a delivery's counter (`delivery_seq`) or an endpoint disabled leaves
the cache alone."""

ID = "2026-11-25T18:43:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "webhook_endpoint: a change to its signing keys notifies the API's key cache"

FORWARDS = [
    """
    CREATE TRIGGER webhook_endpoint_auth_changed
        AFTER INSERT OR DELETE OR TRUNCATE OR UPDATE OF signing_key, previous_signing_key ON webhook_endpoint
        FOR EACH STATEMENT EXECUTE FUNCTION notify_auth_changed()
    """,
]

BACKWARDS = [
    "DROP TRIGGER IF EXISTS webhook_endpoint_auth_changed ON webhook_endpoint",
]


async def forwards():
    from sandbox.db import sql_migration

    return sql_migration(ID, DESCRIPTION, FORWARDS, BACKWARDS)
