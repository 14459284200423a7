"""Delivery rows: making them (relay and resend), leasing one for an attempt, recording
what an attempt got, and closing the pending ones of an endpoint that stops receiving.

A delivery is attempted only under a lease (`lease_token`, `lease_until`): whoever set
it makes the attempt and records it; a second job for the same delivery finds it
leased and does nothing. A worker that dies mid-attempt leaves a lease that expires,
and the sweeper schedules the attempt again."""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg
import msgspec

from sandbox import db
from sandbox.core.clock import now
from sandbox.core.ids import new_id
from sandbox.observability import logs
from sandbox.settings import webhook_timeout_s
from sandbox.webhooks.model import faults as fault_rules
from sandbox.webhooks.model.faults import Faults

PENDING, SUCCEEDED, FAILED, CANCELLED = "pending", "succeeded", "failed", "cancelled"


def lease_length() -> timedelta:
    # Long enough for the attempt's requests (each within SANDBOX_WEBHOOK_TIMEOUT_S, connect
    # to last byte) to finish before anyone else may try; `keep_lease` renews it before
    # sending, after a wait for a free slot.
    # That setting alone: reading all of them (get_settings) cost 5 % of the worker's CPU.
    return timedelta(seconds=2 * webhook_timeout_s() + 60)


# A lease held this long has 2 x timeout + 10 s left: still enough for two requests of up
# to the timeout each (the attempt and an injected duplicate); older, it is renewed first.
_FRESH_FOR = timedelta(seconds=50)


@dataclass(slots=True)
class Target:
    """Everything one attempt needs, loaded when the lease is taken."""

    delivery_id: str
    merchant: str
    seq: int
    attempt: int  # the number of the attempt about to be made, from 1
    lease_token: str
    lease_until: datetime
    event_id: str
    event_type: str
    event_at: datetime
    sequence: int  # the event's place among its payout's events (outbox_event.sequence)
    data: str  # the event's data as stored (JSON)
    request: str | None  # the API request that caused the event (JSON), None when none did
    endpoint_id: str
    url: str
    signing_keys: list[str]  # the current key first, then the previous one while its grace lasts
    faults: Faults
    fresh_until: datetime  # until then the lease outlasts an attempt (`keep_lease`): taken + `_FRESH_FOR`


@dataclass(slots=True)
class AttemptRecord:
    at: datetime
    webhook_timestamp: int
    status_code: int | None
    latency_ms: int | None
    error: str | None
    response_excerpt: str | None
    faults: list[str]


def signing_keys(endpoint: asyncpg.Record | dict, at: datetime) -> list[str]:
    keys = [endpoint["signing_key"]]
    expires = endpoint["previous_key_expires_at"]
    if endpoint["previous_signing_key"] and expires is not None and expires > at:
        keys.append(endpoint["previous_signing_key"])
    return keys


# --- making deliveries ------------------------------------------------------------


@dataclass(slots=True)
class NewDelivery:
    event: asyncpg.Record  # id, merchant, type, data, request, created_at, sequence
    endpoint: asyncpg.Record  # id, url, signing_key, previous_signing_key, previous_key_expires_at, faults
    generation: int = 0


async def lock_endpoints(sql_filter: str, *args) -> list[asyncpg.Record]:
    """Lock endpoint rows in id order (so concurrent relays and resends never deadlock)."""
    return await db.fetch(
        "SELECT id, merchant, status, url, events, signing_key, previous_signing_key, previous_key_expires_at, faults,"
        f" created_at, delivery_seq FROM webhook_endpoint WHERE {sql_filter} ORDER BY id FOR UPDATE",
        *args,
    )


# The deliveries and their endpoints' seqs in one statement ($11, $12: each endpoint and how
# many it was handed; the caller read its `delivery_seq` with its lock, so the seqs are known).
_INSERT_SQL = """
WITH reserved AS (
    UPDATE webhook_endpoint e SET delivery_seq = e.delivery_seq + v.n
      FROM unnest($11::varchar[], $12::bigint[]) AS v(id, n)
     WHERE e.id = v.id
)
INSERT INTO webhook_delivery (id, merchant, event, endpoint, generation, seq, status, attempts, next_attempt_at,
                              lease_until, lease_token, created_at, updated_at)
SELECT fresh.id, fresh.merchant, fresh.event, fresh.endpoint, fresh.generation, fresh.seq, 'pending', 0, fresh.due,
       CASE WHEN fresh.lease_token IS NULL THEN NULL ELSE $10::timestamptz END, fresh.lease_token, $9, $9
  FROM unnest($1::varchar[], $2::varchar[], $3::varchar[], $4::varchar[], $5::int[], $6::bigint[],
              $7::timestamptz[], $8::varchar[])
       AS fresh(id, merchant, event, endpoint, generation, seq, due, lease_token)
ON CONFLICT (event, endpoint, generation) DO NOTHING
RETURNING id
"""


def new_token() -> str:
    """A lease token: one per claim (or relay), shared by the rows it leases."""
    return secrets.token_hex(16)


async def create(new: list[NewDelivery], at: datetime, *, lease: int, token: str | None = None,
                 merchant_room: Mapping[str, int] | None = None
                 ) -> tuple[list[Target], list[tuple[str, datetime]]]:
    """Insert deliveries (inside the caller's transaction, endpoints already locked).
    Up to `lease` of those due at once come back leased to the caller as targets, and of a
    merchant in `merchant_room` no more than its room there; the others (held back by an
    injected delay, or beyond `lease` or the room) come back as (delivery id, due) for the
    caller to schedule once it commits."""
    if not new:
        return [], []
    room = Counter(merchant_room) if merchant_room is not None else None
    counts = Counter(n.endpoint["id"] for n in new)
    next_seq = {n.endpoint["id"]: n.endpoint["delivery_seq"] + 1 for n in new}
    token = token or new_token()
    lease_until = at + lease_length()  # once for all: the settings are read from the environment
    columns: list[list] = [[] for _ in range(8)]
    targets: dict[str, Target] = {}
    held: dict[str, datetime] = {}
    for n in new:
        endpoint_id = n.endpoint["id"]
        seq = next_seq[endpoint_id]
        next_seq[endpoint_id] = seq + 1
        faults = fault_rules.load(n.endpoint["faults"])
        due = at + fault_rules.hold(faults, seq)
        delivery_id = new_id("whd")
        merchant = n.event["merchant"]
        immediate = len(targets) < lease and due <= at and (room is None or room[merchant] > 0)
        if immediate and room is not None:
            room[merchant] -= 1
        for column, value in zip(columns, (delivery_id, merchant, n.event["id"], endpoint_id, n.generation,
                                           seq, due, token if immediate else None), strict=True):
            column.append(value)
        if immediate:
            targets[delivery_id] = Target(
                delivery_id=delivery_id, merchant=merchant, seq=seq, attempt=1, lease_token=token,
                lease_until=lease_until,
                event_id=n.event["id"],
                event_type=n.event["type"], event_at=n.event["created_at"], sequence=n.event["sequence"],
                data=n.event["data"],
                request=n.event["request"],
                endpoint_id=endpoint_id, url=n.endpoint["url"], signing_keys=signing_keys(n.endpoint, at),
                faults=faults, fresh_until=at + _FRESH_FOR)
        else:
            held[delivery_id] = due
    inserted = {r["id"] for r in await db.fetch(_INSERT_SQL, *columns, at, lease_until, list(counts),
                                                list(counts.values()))}
    return ([t for i, t in targets.items() if i in inserted],
            [(i, due) for i, due in held.items() if i in inserted])


# --- one attempt ------------------------------------------------------------------

_CLAIMED = """
RETURNING d.id, d.seq, d.attempts, ev.id AS event_id, ev.type, ev.created_at, ev.sequence, ev.data, ev.request,
          ev.payout_id,
          ev.merchant,
          e.id AS endpoint_id, e.url,
          e.status AS endpoint_status, e.deleted_at, e.signing_key, e.previous_signing_key,
          e.previous_key_expires_at, e.faults
"""

_CLAIM_SQL = """
UPDATE webhook_delivery d SET lease_until = $2::timestamptz + $3::interval, lease_token = $4, updated_at = $2
  FROM webhook_endpoint e, outbox_event ev
 WHERE d.id = $1 AND e.id = d.endpoint AND ev.id = d.event
   AND d.status = 'pending' AND d.next_attempt_at <= $2 AND (d.lease_until IS NULL OR d.lease_until < $2)
   AND d.merchant <> ALL($5::varchar[])
""" + _CLAIMED

# The oldest due first, none of a merchant beyond its room in the caller's line ($6 the
# line, $7/$8 what the caller holds of each merchant; one whose line is full is skipped
# outright, so its many due rows never hide the others'). The candidates ($5, more than
# the $4 leased, so that a merchant's rows beyond its room leave others to lease) come
# from the due index alone; only the $4 to lease are then looked up and locked: the lock
# had joined every candidate to its row before the limit, 1,000 primary-key lookups for
# 250 leases (58 of a 79 ms claim at a million rows, EXPLAIN ANALYZE). SKIP LOCKED lets
# workers that refill at once take different rows (one may then lease fewer than $4).
_CLAIM_DUE_SQL = """
WITH candidate AS (
    SELECT d.id, d.merchant, d.next_attempt_at FROM webhook_delivery d
     WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND (d.lease_until IS NULL OR d.lease_until < $1)
       AND d.merchant <> ALL($9::varchar[])
     ORDER BY d.next_attempt_at LIMIT $5
), ranked AS (
    SELECT c.id, c.next_attempt_at, row_number() OVER (PARTITION BY c.merchant ORDER BY c.next_attempt_at) AS nth,
           $6 - coalesce(h.n, 0) AS room
      FROM candidate c LEFT JOIN unnest($7::varchar[], $8::int[]) AS h(merchant, n) ON h.merchant = c.merchant
), leased AS (
    SELECT r.id, r.next_attempt_at FROM ranked r WHERE r.nth <= r.room ORDER BY r.next_attempt_at LIMIT $4
), due AS (
    SELECT d.id FROM webhook_delivery d JOIN leased l ON l.id = d.id
     ORDER BY l.next_attempt_at FOR UPDATE OF d SKIP LOCKED
)
UPDATE webhook_delivery d SET lease_until = $1::timestamptz + $2::interval, lease_token = $3, updated_at = $1
  FROM due, webhook_endpoint e, outbox_event ev
 WHERE d.id = due.id AND e.id = d.endpoint AND ev.id = d.event
   AND d.status = 'pending' AND (d.lease_until IS NULL OR d.lease_until < $1)
""" + _CLAIMED


async def claim(delivery_id: str, token: str | None = None, skip: list[str] | None = None) -> Target | None:
    """Lease a delivery whose next attempt is due; None if it is not (done, leased by
    someone else, not due yet, or of a merchant in `skip`: one whose line is full). A
    delivery whose endpoint was disabled or deleted meanwhile is closed here instead of
    attempted."""
    at = now()
    token = token or new_token()
    row = await db.fetchrow(_CLAIM_SQL, delivery_id, at, lease_length(), token, skip or [])
    if row is None:
        return None
    logs.bind(payout_id=row["payout_id"], merchant_id=row["merchant"])  # on the job's log lines
    targets = await _targets([row], token, at)
    return targets[0] if targets else None


async def name_in_log(delivery_id: str) -> None:
    """Put a delivery's payout and merchant on the current job's log lines when its job did
    not claim it (its attempt was made by a pool's refill on a sweep, by another worker, or
    is not due): a delivery job's line names what it was about whichever path delivered."""
    row = await db.fetchrow("SELECT ev.payout_id, ev.merchant FROM webhook_delivery d "
                            "JOIN outbox_event ev ON ev.id = d.event WHERE d.id = $1", delivery_id)
    if row is not None:
        logs.bind(payout_id=row["payout_id"], merchant_id=row["merchant"])


@dataclass(frozen=True)
class DueClaim:
    """What `claim_due` leased: the attempts to make, and how many rows it leased in all.
    Fewer targets than rows means some were closed instead (their endpoint disabled or
    deleted): the claim met them, not the end of what is due."""
    targets: list[Target]
    leased: int


async def claim_due(limit: int, line_per_merchant: int, held: dict[str, int], token: str | None = None
                    ) -> DueClaim:
    """Lease up to `limit` due deliveries, the longest due first, and of each merchant no
    more than its line has room for (`held`: how many the caller holds of each): how a
    worker's pool takes work from the database."""
    at = now()
    token = token or new_token()
    # The merchants whose line is full, as one array: a condition on every candidate row,
    # where a subquery over `held` cost 0.09 ms a row (36 of a 42 ms claim, 403 candidates).
    rows = await db.fetch(_CLAIM_DUE_SQL, at, lease_length(), token, limit, max(4 * limit, 1000),
                          line_per_merchant, list(held), list(held.values()), full(held, line_per_merchant))
    return DueClaim(await _targets(rows, token, at), len(rows))


def full(held: dict[str, int], line_per_merchant: int) -> list[str]:
    """The merchants whose line is full: none of theirs is claimed until it has room."""
    return [merchant for merchant, n in held.items() if n >= line_per_merchant]


async def release(tokens: list[str]) -> None:
    """Give up the leases taken under `tokens` by claims whose caller never got their
    rows: those deliveries are due again at once, for whoever claims next."""
    await db.execute("UPDATE webhook_delivery SET lease_until = NULL, lease_token = NULL, updated_at = now()"
                     " WHERE lease_token = ANY($1::varchar[]) AND status = 'pending'", tokens)


async def _targets(rows: list[asyncpg.Record], token: str, at: datetime) -> list[Target]:
    """The attempts to make for claimed rows; the rows whose endpoint was disabled or
    deleted meanwhile are closed instead, in one statement."""
    gone = [r for r in rows if r["deleted_at"] is not None or r["endpoint_status"] != "enabled"]
    if gone:
        await db.execute(
            "UPDATE webhook_delivery d SET status = g.status, last_error = g.reason, next_attempt_at = NULL,"
            " lease_until = NULL, lease_token = NULL, completed_at = $4, updated_at = $4"
            " FROM unnest($1::varchar[], $2::varchar[], $3::text[]) AS g(id, status, reason)"
            " WHERE d.id = g.id AND d.lease_token = $5",
            [r["id"] for r in gone],
            [CANCELLED if r["deleted_at"] is not None else FAILED for r in gone],
            ["endpoint deleted" if r["deleted_at"] is not None else "endpoint disabled" for r in gone],
            at, token)
    lease_until = at + lease_length()  # once for all: the settings are read from the environment
    return [
        Target(
            delivery_id=row["id"], merchant=row["merchant"], seq=row["seq"], attempt=row["attempts"] + 1,
            lease_token=token, lease_until=lease_until,
            event_id=row["event_id"], event_type=row["type"], event_at=row["created_at"], sequence=row["sequence"],
            data=row["data"],
            request=row["request"],
            endpoint_id=row["endpoint_id"], url=row["url"], signing_keys=signing_keys(row, at),
            faults=fault_rules.load(row["faults"]), fresh_until=at + _FRESH_FOR)
        for row in rows if row["deleted_at"] is None and row["endpoint_status"] == "enabled"
    ]


async def keep_lease(target: Target) -> bool:
    """Before sending: make sure the lease outlasts the request (a target may have waited
    for a free slot); False if it was lost meanwhile and someone else may be sending."""
    at = now()
    # A fresh lease is long enough, known without reading the settings (which cost the
    # worker 3 % of its CPU when read for every attempt; docs/benchmark.md, "Soak").
    if at < target.fresh_until:
        return True
    target.lease_until, target.fresh_until = at + lease_length(), at + _FRESH_FOR
    renewed = await db.fetchval(
        "UPDATE webhook_delivery SET lease_until = $3 WHERE id = $1 AND lease_token = $2 AND status = 'pending'"
        " RETURNING id", target.delivery_id, target.lease_token, target.lease_until)
    return renewed is not None


_RECORD_SQL = """
WITH moved AS (
    UPDATE webhook_delivery d SET status = v.status, attempts = v.number, next_attempt_at = v.next_at,
           lease_until = NULL, lease_token = NULL, last_status_code = v.code, last_error = v.error,
           completed_at = v.completed, updated_at = now()
      FROM unnest($1::varchar[], $2::int[], $3::varchar[], $4::timestamptz[], $5::int[], $6::text[],
                  $7::timestamptz[], $8::varchar[]) AS v(id, number, status, next_at, code, error, completed, token)
     WHERE d.id = v.id AND d.lease_token = v.token
    RETURNING d.id
), stored AS (
    INSERT INTO webhook_attempt (delivery, number, at, webhook_timestamp, status_code, latency_ms, error,
                                 response_excerpt, faults, next_retry_at)
    SELECT a.delivery, a.number, a.at, a.ts, a.code, a.latency, a.error, a.excerpt, a.faults::jsonb, a.next_at
      FROM unnest($9::varchar[], $10::int[], $11::timestamptz[], $12::bigint[], $13::int[], $14::int[], $15::text[],
                  $16::text[], $17::text[], $18::timestamptz[])
           AS a(delivery, number, at, ts, code, latency, error, excerpt, faults, next_at)
)
SELECT id FROM moved
"""


@dataclass(slots=True)
class Outcome:
    """What one attempt got and what follows it, for `record`."""

    target: Target
    attempts: list[AttemptRecord]  # the attempt's requests: the attempt, then an injected duplicate
    status: str
    next_at: datetime | None
    error: str | None


async def record(outcomes: list[Outcome]) -> set[str]:
    """Store the attempts' requests and move their deliveries on, in one statement;
    returns the ids of the deliveries moved (one whose lease was lost meanwhile is not,
    though its requests are stored all the same)."""
    moves = [(o.target.delivery_id, o.target.attempt, o.status, o.next_at, o.attempts[0].status_code, o.error,
                   o.attempts[0].at if o.status != PENDING else None, o.target.lease_token) for o in outcomes]
    requests = [(o.target.delivery_id, o.target.attempt, a.at, a.webhook_timestamp, a.status_code, a.latency_ms,
                 a.error, a.response_excerpt, msgspec.json.encode(a.faults).decode(), o.next_at)
                for o in outcomes for a in o.attempts]
    rows = await db.fetch(_RECORD_SQL, *map(list, zip(*moves, strict=True)),
                          *map(list, zip(*requests, strict=True)))
    return {r["id"] for r in rows}


async def postpone(targets: list[Target], due: datetime | None) -> set[str]:
    """Give the leases back unattempted, each attempt due at `due` (None: when it was
    due); returns the ids whose lease was still held (the others were lost meanwhile,
    and are someone else's)."""
    rows = await db.fetch(
        "UPDATE webhook_delivery d SET next_attempt_at = coalesce($3, d.next_attempt_at), lease_until = NULL,"
        " lease_token = NULL,"
        " updated_at = now() FROM unnest($1::varchar[], $2::varchar[]) AS t(id, token)"
        " WHERE d.id = t.id AND d.lease_token = t.token AND d.status = 'pending' RETURNING d.id",
        [t.delivery_id for t in targets], [t.lease_token for t in targets], due)
    return {r["id"] for r in rows}


async def close_pending(endpoint_id: str, status: str, reason: str) -> int:
    """Close an endpoint's deliveries that wait for a later attempt (ones in flight finish
    on their own, and their next claim closes them)."""
    result = await db.execute(
        "UPDATE webhook_delivery SET status = $2, last_error = $3, next_attempt_at = NULL, completed_at = now(),"
        " updated_at = now() WHERE endpoint = $1 AND status = 'pending'"
        " AND (lease_until IS NULL OR lease_until < now())",
        endpoint_id, status, reason)
    return int(result.split()[-1])


# --- listener endpoints ----------------------------------------------------------------

# A parked delivery is due again after this even if no listener un-parks it: its attempt then
# finds whether one is connected (and parks it again if not). Longer than any retry's wait.
PARKED_FOR = timedelta(days=1)


async def park(target: Target) -> None:
    """Its listener endpoint has no listener connected: the lease is given back and the
    attempt waits, unmade and uncounted, until one connects (`unpark`)."""
    await db.execute(
        "UPDATE webhook_delivery SET parked = true, next_attempt_at = $3, lease_until = NULL, lease_token = NULL,"
        " updated_at = now() WHERE id = $1 AND lease_token = $2 AND status = 'pending'",
        target.delivery_id, target.lease_token, now() + PARKED_FOR)


async def unpark(endpoint_id: str) -> int:
    """A listener connected: its endpoint's parked deliveries are due at once; returns how
    many."""
    result = await db.execute(
        "UPDATE webhook_delivery SET parked = false, next_attempt_at = now(), updated_at = now()"
        " WHERE endpoint = $1 AND parked AND status = 'pending'", endpoint_id)
    return int(result.split()[-1])
