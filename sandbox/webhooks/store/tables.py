from piccolo.columns import JSONB, BigInt, BigSerial, Boolean, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.constraints import Check, Unique
from piccolo.table import Table

from sandbox.merchants.tables import Merchant


class OutboxEvent(Table, tablename="outbox_event"):
    """An event written in the same transaction as the change it describes; the worker
    relays it to webhook endpoints.

    The references of this table, `WebhookDelivery` and `WebhookAttempt` are ForeignKeys
    here (Piccolo joins on them) but not checked by PostgreSQL since migration
    2026-11-26T21:00, which says why."""

    id = Varchar(length=40, primary_key=True)
    # Insertion order, for cursor pagination of GET /events.
    number = BigSerial(index=True)
    merchant = ForeignKey(Merchant, index=True, null=False)
    type = Varchar(length=60)
    # Looked up through the unique index on (payout_id, sequence) (migration
    # 2026-11-25T18:43:17, which dropped the index of its own).
    payout_id = Varchar(length=40, null=True, default=None)
    # The event's place among its payout's events: 1, 2, 3, … with no gaps, in the order
    # they were written (payout.created is 1); 1 for an event about no payout. Assigned by
    # `outbox_emit` (sandbox/sql/).
    sequence = Integer()
    data = JSONB()
    created_at = Timestamptz()
    # `{"id", "idempotency_key"}` of the API request that caused it; NULL when the worker,
    # the rail's callback or a clock did.
    request = JSONB(null=True, default=None)
    # Written once: until the relay takes it, the event is also listed in `outbox_unrelayed`
    # (made by migration 2026-11-26T20:00, with no Table of its own here: only SQL reads it).


class WebhookEndpoint(Table, tablename="webhook_endpoint"):
    """Where a merchant wants events sent, which ones, and how they are signed."""

    id = Varchar(length=40, primary_key=True)
    number = BigSerial()
    merchant = ForeignKey(Merchant, index=True, null=False)
    url = Varchar(length=2048)
    description = Varchar(length=500, null=True, default=None)
    # Event type patterns: exact types, `payout.*`, or `*`.
    events = JSONB(default="[]")
    signing = Varchar(length=16)  # "hmac-sha256" | "ed25519"
    # `whsec_…` (HMAC) or `whsk_…` (the Ed25519 private key); never shown after creation.
    signing_key = Text(secret=True)
    # After a rotation the old key also signs until `previous_key_expires_at`.
    previous_signing_key = Text(null=True, default=None, secret=True)
    previous_key_expires_at = Timestamptz(null=True, default=None)
    public_key = Varchar(length=80, null=True, default=None)  # `whpk_…` for ed25519
    status = Varchar(length=16, default="enabled")  # "enabled" | "disabled"
    disabled_reason = Varchar(length=200, null=True, default=None)
    faults = JSONB(default="{}")
    # Deliveries handed out so far; the nth delivery draws its injected faults from n.
    delivery_seq = BigInt(default=0)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    deleted_at = Timestamptz(null=True, default=None)
    # `url`: POSTed to at `url`. `listener`: reached down the stream a `sandbox listen` opens
    # (its `url` reads `listener://<id>`, never dialled), under its `listener_name`, unique
    # among the merchant's live endpoints (`webhook_endpoint_listener`, migration 2026-11-28T00:30).
    kind = Varchar(length=16, default="url")
    listener_name = Varchar(length=64, null=True, default=None)

    status_known = Check("status IN ('enabled', 'disabled')")
    signing_known = Check("signing IN ('hmac-sha256', 'ed25519')")


class WebhookDelivery(Table, tablename="webhook_delivery"):
    """One event on its way to one endpoint: the relay makes one per matching endpoint
    (generation 0); each resend makes another (generation 1, 2, …)."""

    id = Varchar(length=40, primary_key=True)
    number = BigSerial()
    merchant = ForeignKey(Merchant, null=False)
    # Looked up by event through `one_per_generation`, which starts with it (migration
    # 2026-11-25T13:00 dropped the index of its own).
    event = ForeignKey(OutboxEvent, null=False)
    # Indexed only while pending (`webhook_delivery_pending_endpoint`, made by migration
    # 2026-11-28T20:00 in place of an index of every delivery): closing an endpoint's pending
    # deliveries is the one lookup by endpoint.
    endpoint = ForeignKey(WebhookEndpoint, null=False)
    generation = Integer(default=0)
    seq = BigInt()
    status = Varchar(length=16, default="pending")  # pending | succeeded | failed | cancelled
    attempts = Integer(default=0)
    # When the next attempt is due; NULL once the delivery is finished (the sweeper's index).
    # Indexed only where not NULL (`webhook_delivery_due`, made by migration 2026-11-25T13:00).
    next_attempt_at = Timestamptz(null=True, default=None)
    # Whoever holds an unexpired lease is making the next attempt; nobody else may.
    lease_until = Timestamptz(null=True, default=None)
    lease_token = Varchar(length=32, null=True, default=None)
    last_status_code = Integer(null=True, default=None)
    last_error = Text(null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    completed_at = Timestamptz(null=True, default=None)
    # A listener endpoint's attempt found no listener connected: it waits, unattempted, until
    # one connects (indexed where true: `webhook_delivery_parked`).
    parked = Boolean(default=False)

    one_per_generation = Unique(["event", "endpoint", "generation"])
    status_known = Check("status IN ('pending', 'succeeded', 'failed', 'cancelled')")


class WebhookAttempt(Table, tablename="webhook_attempt"):
    """One HTTP request made for a delivery (an injected duplicate is a request too)."""

    id = BigSerial(primary_key=True)
    delivery = ForeignKey(WebhookDelivery, null=False, index=True)
    number = Integer()
    at = Timestamptz()
    webhook_timestamp = BigInt()
    status_code = Integer(null=True, default=None)
    latency_ms = Integer(null=True, default=None)
    error = Text(null=True, default=None)
    response_excerpt = Text(null=True, default=None)
    faults = JSONB(default="[]")
    next_retry_at = Timestamptz(null=True, default=None)
