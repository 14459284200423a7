"""The verdict on a client's retries, read from the request log: for each write whose
answer a fault after commit took away, what the client did next.

A write is a request that committed an effect: a POST, PUT, PATCH or DELETE that ran under
its idempotency key (outcome `first`) and whose true answer was 2xx. A fault on anything
else (a read, a read-only check, a refused write, a replayed one) took away an answer that
committed nothing: it is counted as `not_writes` and never judged, so a client that only
re-reads what it read is never taken for one that retries writes safely.

- `duplicated`: the write made a payout, and another payout to the same account (the
  destination's identity: `destinations.account_of`) for the same amount was made after
  it, at any time in the run (no window: a second payment is one however late it comes);
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
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs

import msgspec

from sandbox import db
from sandbox.core.clock import iso
from sandbox.core.types import said
from sandbox.faults.kinds import AFTER_COMMIT, AfterCommitKind
from sandbox.idempotency.claims import MUTATING
from sandbox.payouts.model.destinations import account_of
from sandbox.requests import store
from sandbox.requests.writer import WRITER

KINDS: list[AfterCommitKind] = sorted(AFTER_COMMIT)
Row = Any  # a request log row (an asyncpg Record, or a dict of the same keys in the tests)
Recovery = Literal["same_key", "read_by_id", "read_by_reference"]
DUPLICATE_WORDS = ("another payout to the same account (the destination's bank or wallet and account number, "
                   "its title aside) for the same amount, made after it at any time")


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
    payout_id: Annotated[str | None, said("The payout the faulted write created; null when it created none")]
    duplicate_payout_id: Annotated[str | None, said("The second payout, for `duplicated`; null otherwise")]
    next_request_id: Annotated[str | None, said(
        "The later request that recovered it, or that named the duplicate payout first; null for `open` (and for a "
        "duplicate no later request named, e.g. a batch's)")]


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
    """What the verdict needs of a payout: its order of making, amount, account, reference."""

    id: str
    number: int
    amount: int
    account: tuple[str, str, str]
    reference: str | None


def is_write(row: Row) -> bool:
    """Whether a logged request committed an effect (see the module's doc)."""
    return (row["method"] in MUTATING and row["idempotency_outcome"] == "first"
            and 200 <= row["status"] < 300)


def answered(row: Row) -> bool:
    """Whether the client got a logged request's true answer: a 2xx no fault took away."""
    return 200 <= row["status"] < 300 and row["fault"] not in AFTER_COMMIT


def _payout_made(row: Row) -> str | None:
    if row["method"] == "POST" and row["route"].endswith("/payouts"):
        return next((o for o in row["object_ids"] if o.startswith("po_")), None)
    return None


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


def judge(rows: Sequence[Row], payouts: Mapping[str, PayoutFact]) -> list[FaultVerdicts]:
    """The verdicts, per kind of fault after commit, from the merchant's log `rows`
    (oldest first: id, at, method, route, path, status, idempotency_key,
    idempotency_outcome, fault, object_ids) and `payouts` by id: every payout a faulted
    write made and every payout of the same amounts made after the first of them."""
    later = _Later(rows)
    by_amount: dict[tuple[int, tuple[str, str, str]], list[PayoutFact]] = defaultdict(list)
    for p in sorted(payouts.values(), key=lambda p: p.number):
        by_amount[(p.amount, p.account)].append(p)
    by_kind: dict[AfterCommitKind, list[FaultCase]] = {kind: [] for kind in KINDS}
    not_writes: dict[AfterCommitKind, int] = dict.fromkeys(KINDS, 0)
    for at, row in enumerate(rows):
        kind = row["fault"]
        if kind not in AFTER_COMMIT:
            continue
        if not is_write(row):
            not_writes[kind] += 1
            continue
        payout_id = _payout_made(row)
        payout = payouts.get(payout_id) if payout_id is not None else None
        duplicate = None
        if payout is not None:
            duplicate = next((q for q in by_amount[(payout.amount, payout.account)] if q.number > payout.number),
                             None)
        common = {"request_id": row["id"], "at": iso(row["at"]), "method": row["method"], "route": row["route"],
                  "payout_id": payout_id}
        if duplicate is not None:
            maker = later.first(later.named.get(duplicate.id), at)
            case = FaultCase(**common, verdict="duplicated", recovered_by=None, duplicate_payout_id=duplicate.id,
                             next_request_id=rows[maker]["id"] if maker is not None else None)
        else:
            reference = payout.reference if payout is not None else None
            found = later.recovery(at, row["idempotency_key"], list(row["object_ids"]), reference)
            case = FaultCase(**common, verdict="recovered" if found else "open",
                             recovered_by=found[1] if found else None, duplicate_payout_id=None,
                             next_request_id=rows[found[0]]["id"] if found else None)
        by_kind[kind].append(case)
    return [FaultVerdicts(kind=kind, injected=len(cases), cases=cases, not_writes=not_writes[kind],
                          recovered=sum(c.verdict == "recovered" for c in cases),
                          duplicated=sum(c.verdict == "duplicated" for c in cases),
                          open=sum(c.verdict == "open" for c in cases))
            for kind, cases in by_kind.items()]


# The payouts faulted writes made, and every later payout of the merchant for one of their
# amounts: the candidates for a duplicate (same account is asked in Python, by `account_of`).
_PAYOUTS_SQL = """
WITH faulted AS (SELECT number, amount FROM payout WHERE merchant = $1 AND id = ANY($2::varchar[]))
SELECT id, number, amount, destination, reference FROM payout
 WHERE merchant = $1 AND (id = ANY($2::varchar[])
       OR (amount IN (SELECT amount FROM faulted) AND number > (SELECT min(number) FROM faulted)))
"""


async def of_merchant(merchant_id: str) -> list[FaultVerdicts]:
    await WRITER.flush()
    rows = await store.all_of(merchant_id)
    made = [p for r in rows if r["fault"] in AFTER_COMMIT and is_write(r) and (p := _payout_made(r))]
    payouts = {}
    if made:
        payouts = {r["id"]: PayoutFact(r["id"], r["number"], r["amount"], account_of(msgspec.json.decode(
            r["destination"]) if isinstance(r["destination"], str | bytes) else r["destination"]), r["reference"])
            for r in await db.fetch(_PAYOUTS_SQL, merchant_id, made)}
    return judge(rows, payouts)
