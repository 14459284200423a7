"""The verdict on a client's retries, read from the request log: for each write whose
answer a fault after commit took away, what the client did next.

A write is a request that committed an effect: a POST, PUT, PATCH or DELETE that ran under
its idempotency key (outcome `first`) and whose true answer was 2xx. A fault on anything
else (a read, a read-only check, a refused write, a replayed one) took away an answer that
committed nothing: it is counted as `not_writes` and never judged, so a client that only
re-reads what it read is never taken for one that retries writes safely.

- `duplicated`: the write can pay (its route declares it, sandbox/idempotency/paying.py: it
  made a payout, a batch's payouts, or sent one or a batch's back to the rail), and a
  later write paid another payout to the same account (the destination's identity:
  `destinations.account_of`) for the same amount, by any paying route, at any time in the
  run (no window: a second payment is one however late it comes). A retry with the same
  key is no write (it is replayed), and sending one of the write's own payouts again (its
  documented reinitiation) is no second payout;
- `recovered`: otherwise, a later request that was answered (2xx, no fault after commit of
  its own: the client got the answer) used the same idempotency key (it got the stored true
  answer), or read the object back by its id or by its `reference`;
- `open`: neither, yet.

A duplicate outweighs a recovery: a client that read the payout back and then paid again
still paid twice.

`judge` is the rule, a pure function of the log's rows and the payouts' facts (tested
against an oracle of its own on generated histories); `of_merchant` reads them."""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs

import msgspec

from sandbox import db
from sandbox.core.clock import iso
from sandbox.core.types import said
from sandbox.faults.kinds import AFTER_COMMIT, AfterCommitKind
from sandbox.idempotency.claims import MUTATING
from sandbox.idempotency.paying import DECLARED, Declared, Pays
from sandbox.payouts.model.destinations import account_of
from sandbox.requests import store
from sandbox.requests.writer import WRITER

KINDS: list[AfterCommitKind] = sorted(AFTER_COMMIT)
Row = Any  # a request log row (an asyncpg Record, or a dict of the same keys in the tests)
Recovery = Literal["same_key", "read_by_id", "read_by_reference"]
DUPLICATE_WORDS = ("a later write (by any route that pays) paid another payout to the same account (the "
                   "destination's bank or wallet and account number, its title aside) for the same amount, at any "
                   "time; a retry with the same key and a reinitiation of its own payout aside")


class FaultCase(msgspec.Struct):
    request_id: Annotated[str, said("The faulted write's `X-Request-ID` (GET /sandbox/requests/{request_id})")]
    at: Annotated[str, said("When it arrived (RFC 3339, milliseconds), on the merchant's clock")]
    method: Annotated[str, said("The faulted write's method")]
    route: Annotated[str, said("The faulted write's route, e.g. `/api/v1/payouts`")]
    verdict: Annotated[Literal["recovered", "duplicated", "open"], said(
        f"`duplicated`: {DUPLICATE_WORDS}; `recovered`: otherwise, a later request reused its idempotency key or "
        "read the object back (by id or `reference`); `open`: neither, yet")]
    recovered_by: Annotated[Recovery | None, said(
        "For `recovered`: `same_key` (retried with the same idempotency key), `read_by_id` or `read_by_reference`; "
        "null otherwise")]
    payout_id: Annotated[str | None, said(
        "The payout the faulted write made or sent to the rail again (for `duplicated`, the one paid twice; for a "
        "batch, its first); null when it paid none")]
    duplicate_payout_id: Annotated[str | None, said("The second payout, for `duplicated`; null otherwise")]
    next_request_id: Annotated[str | None, said(
        "The later request that recovered it, or the later write that paid the duplicate payout; null for `open`")]
    duplicate_write: Annotated[str | None, said(
        "For `duplicated`: the later write's method and route, e.g. `POST /api/v1/payout-batches`; null otherwise")] \
        = None


class FaultVerdicts(msgspec.Struct):
    kind: Annotated[AfterCommitKind, said("The fault after commit these cases got")]
    injected: Annotated[int, said("How many writes got it (requests that committed an effect)")]
    recovered: Annotated[int, said("How many of them are `recovered`")]
    duplicated: Annotated[int, said("How many of them are `duplicated`")]
    open: Annotated[int, said("How many of them are `open`")]
    not_writes: Annotated[int, said(
        "Requests that got it but committed nothing (a read, a read-only check, a refused or replayed write): "
        "never judged, never counted as recovered")]
    cases: Annotated[list[FaultCase], said("Each faulted write and its verdict, oldest first")]


class PayoutFact(msgspec.Struct, frozen=True):
    """What the verdict needs of a payout: its order of making, amount, account, reference,
    and when it was made (on the merchant's clock), for a payout no logged write paid."""

    id: str
    number: int
    amount: int
    account: tuple[str, str, str]
    reference: str | None
    made_at: datetime | None = None


def is_write(row: Row) -> bool:
    """Whether a logged request committed an effect (see the module's doc)."""
    return (row["method"] in MUTATING and row["idempotency_outcome"] == "first"
            and 200 <= row["status"] < 300)


def answered(row: Row) -> bool:
    """Whether the client got a logged request's true answer: a 2xx no fault took away."""
    return 200 <= row["status"] < 300 and row["fault"] not in AFTER_COMMIT


class BatchFact(msgspec.Struct, frozen=True):
    """What the verdict needs of a batch: the payouts its items made, and those of them a
    retry of the batch sent to the rail again."""

    made: tuple[str, ...]
    retried: tuple[str, ...]


def _pays(row: Row, declared: Declared) -> Pays | None:
    """How a logged request paid, when it is a write on a route that declares it can pay."""
    return declared.get((row["method"], row["route"])) if is_write(row) else None


def _made_after(payout: PayoutFact, at: datetime, own: Sequence[PayoutFact]) -> bool:
    """Whether a payout no logged write paid was made after a write at `at` that paid `own`:
    later on the merchant's clock, or at the same moment (a manual clock stands still) and
    made after the write's own payouts."""
    if payout.made_at is None:
        return False
    return payout.made_at > at or (payout.made_at == at and payout.number > max(p.number for p in own))


def payments(rows: Sequence[Row], batches: Mapping[str, BatchFact], declared: Declared) -> list[list[str]]:
    """For each logged request, the payouts it paid: none unless it is a write on a route
    that can pay; the payout it names, or its batch's (a batch's retried payouts count for
    the first retry of that batch only: a second retries none)."""
    retried: set[str] = set()
    paid: list[list[str]] = []
    for row in rows:
        how = _pays(row, declared)
        if how in (Pays.PAYOUT, Pays.PAYOUT_AGAIN):
            paid.append([o for o in row["object_ids"] if o.startswith("po_")])
            continue
        ids = []
        for batch_id in row["object_ids"] if how is not None else ():
            if (batch := batches.get(batch_id)) is None:
                continue
            if how is Pays.BATCH:
                ids.extend(batch.made)
            elif batch_id not in retried:
                retried.add(batch_id)
                ids.extend(batch.retried)
        paid.append(ids)
    return paid


def _references_read(row: Row) -> list[str]:
    if row["method"] != "GET" or "reference=" not in row["path"]:
        return []
    _, _, query = row["path"].partition("?")
    return parse_qs(query).get("reference", [])


class _Later:
    """Where each key, object and reference appears in the log, so that "the first later
    request that ..." is a binary search, not a scan of the log per fault (a merchant may
    fault every one of its 10,000 entries)."""

    def __init__(self, rows: Sequence[Row]) -> None:
        # Only answered requests recover (`answered`).
        self.by_key: dict[str, list[int]] = defaultdict(list)  # keys used again
        self.read: dict[str, list[int]] = defaultdict(list)  # objects a GET read by id
        self.by_reference: dict[str, list[int]] = defaultdict(list)  # references a GET asked for
        self.named: dict[str, list[int]] = defaultdict(list)  # objects any request named
        for i, row in enumerate(rows):
            for object_id in row["object_ids"]:
                self.named[object_id].append(i)
            if not answered(row):
                continue
            if row["idempotency_key"] is not None:
                self.by_key[row["idempotency_key"]].append(i)
            if row["method"] == "GET":
                for object_id in row["object_ids"]:
                    self.read[object_id].append(i)
            for reference in _references_read(row):
                self.by_reference[reference].append(i)

    @staticmethod
    def first(places: list[int] | None, after: int) -> int | None:
        if not places or (at := bisect_right(places, after)) == len(places):
            return None
        return places[at]

    def recovery(self, at: int, key: str | None, touched: Sequence[str],
                 reference: str | None) -> tuple[int, Recovery] | None:
        found: list[tuple[int, Recovery]] = []
        if key is not None and (i := self.first(self.by_key.get(key), at)) is not None:
            found.append((i, "same_key"))
        for o in touched:
            if (i := self.first(self.read.get(o), at)) is not None:
                found.append((i, "read_by_id"))
        if reference is not None and (i := self.first(self.by_reference.get(reference), at)) is not None:
            found.append((i, "read_by_reference"))
        return min(found, default=None)


def judge(rows: Sequence[Row], payouts: Mapping[str, PayoutFact], batches: Mapping[str, BatchFact] | None = None,
          declared: Declared | None = None) -> list[FaultVerdicts]:
    """The verdicts, per kind of fault after commit, from the merchant's log `rows`
    (oldest first: id, at, method, route, path, status, idempotency_key,
    idempotency_outcome, fault, object_ids), `payouts` by id (every payout a faulted write
    paid and every payout of the same amounts), `batches` by id (those the log's paying
    writes name) and the routes that can pay (`declared`: the app's, by default)."""
    declared = DECLARED if declared is None else declared
    batches = batches or {}
    later = _Later(rows)
    paid = payments(rows, batches, declared)
    # Every payment by (amount, account), in the order of the log: (where, payout).
    to: dict[tuple[int, tuple[str, str, str]], list[tuple[int, str]]] = defaultdict(list)
    for at, ids in enumerate(paid):
        for payout_id in ids:
            if (p := payouts.get(payout_id)) is not None:
                to[(p.amount, p.account)].append((at, payout_id))
    logged = {payout_id for ids in paid for payout_id in ids}
    unlogged = [p for p in payouts.values() if p.id not in logged]
    by_kind: dict[AfterCommitKind, list[FaultCase]] = {kind: [] for kind in KINDS}
    not_writes: dict[AfterCommitKind, int] = dict.fromkeys(KINDS, 0)
    for at, row in enumerate(rows):
        kind = row["fault"]
        if kind not in AFTER_COMMIT:
            continue
        if not is_write(row):
            not_writes[kind] += 1
            continue
        own = [p for payout_id in paid[at] if (p := payouts.get(payout_id)) is not None]
        mine = {p.id for p in own}
        duplicate = min(((where, p, other) for p in own for where, other in to[(p.amount, p.account)]
                         if where > at and other not in mine), default=None, key=lambda found: found[0])
        common = {"request_id": row["id"], "at": iso(row["at"]), "method": row["method"], "route": row["route"]}
        if duplicate is None and own:  # a payout no logged write paid (the dashboard's), made since
            elsewhere = min((q for p in own for q in unlogged if (q.amount, q.account) == (p.amount, p.account)
                             and q.id not in mine and _made_after(q, row["at"], own)),
                            default=None, key=lambda q: q.number)
            if elsewhere is not None:
                payout = next(p for p in own if (p.amount, p.account) == (elsewhere.amount, elsewhere.account))
                case = FaultCase(**common, verdict="duplicated", recovered_by=None, payout_id=payout.id,
                                 duplicate_payout_id=elsewhere.id, next_request_id=None,
                                 duplicate_write="made by no request of the log (the dashboard)")
                by_kind[kind].append(case)
                continue
        if duplicate is not None:
            where, payout, other = duplicate
            case = FaultCase(**common, verdict="duplicated", recovered_by=None, payout_id=payout.id,
                             duplicate_payout_id=other, next_request_id=rows[where]["id"],
                             duplicate_write=f"{rows[where]['method']} {rows[where]['route']}")
        else:
            single = own[0] if len(own) == 1 and _pays(row, declared) is Pays.PAYOUT else None
            found = later.recovery(at, row["idempotency_key"], list(row["object_ids"]),
                                   single.reference if single is not None else None)
            case = FaultCase(**common, verdict="recovered" if found else "open", payout_id=paid[at][0] if paid[at]
                             else None, recovered_by=found[1] if found else None, duplicate_payout_id=None,
                             next_request_id=rows[found[0]]["id"] if found else None)
        by_kind[kind].append(case)
    return [FaultVerdicts(kind=kind, injected=len(cases), cases=cases, not_writes=not_writes[kind],
                          recovered=sum(c.verdict == "recovered" for c in cases),
                          duplicated=sum(c.verdict == "duplicated" for c in cases),
                          open=sum(c.verdict == "open" for c in cases))
            for kind, cases in by_kind.items()]


# The payouts faulted writes paid, and every payout of the merchant for one of their
# amounts: the candidates for a duplicate (same account is asked in Python, by `account_of`).
_PAYOUTS_SQL = """
WITH faulted AS (SELECT amount FROM payout WHERE merchant = $1 AND id = ANY($2::varchar[]))
SELECT id, number, amount, destination, reference, created_at FROM payout
 WHERE merchant = $1 AND (id = ANY($2::varchar[]) OR amount IN (SELECT amount FROM faulted))
"""
_BATCHES_SQL = """
SELECT i.batch, i.payout_id, i.retry FROM payout_batch_item i JOIN payout_batch b ON b.id = i.batch
 WHERE b.merchant = $1 AND i.batch = ANY($2::varchar[]) AND i.payout_id IS NOT NULL ORDER BY i.batch, i.line
"""


async def _batches(merchant_id: str, rows: Sequence[Row]) -> dict[str, BatchFact]:
    named = sorted({o for r in rows if _pays(r, DECLARED) in (Pays.BATCH, Pays.BATCH_AGAIN) for o in r["object_ids"]})
    made: dict[str, list[str]] = defaultdict(list)
    retried: dict[str, list[str]] = defaultdict(list)
    for item in await db.fetch(_BATCHES_SQL, merchant_id, named) if named else []:
        made[item["batch"]].append(item["payout_id"])
        if item["retry"] in ("requested", "done"):  # a retry marked it, or re-initiated it
            retried[item["batch"]].append(item["payout_id"])
    return {b: BatchFact(tuple(made[b]), tuple(retried[b])) for b in made}


async def of_merchant(merchant_id: str) -> list[FaultVerdicts]:
    await WRITER.flush()
    rows = await store.all_of(merchant_id)
    batches = await _batches(merchant_id, rows)
    paid = [p for r, ids in zip(rows, payments(rows, batches, DECLARED), strict=True) if r["fault"] in AFTER_COMMIT
            for p in ids]
    payouts = {}
    if paid:
        payouts = {r["id"]: PayoutFact(r["id"], r["number"], r["amount"], account_of(msgspec.json.decode(
            r["destination"]) if isinstance(r["destination"], str | bytes) else r["destination"]), r["reference"],
            r["created_at"]) for r in await db.fetch(_PAYOUTS_SQL, merchant_id, paid)}
    return judge(rows, payouts, batches)
