"""The verdict on a client's retries, read from the request log: for each request that
got a fault after its effect was committed, what the client did next.

- `duplicated`: the request created a payout, and another payout to the same destination
  for the same amount was made within 10 minutes of clock time after it (necessarily
  under another idempotency key: the same key would have answered the first payout);
- `recovered`: otherwise, a later request used the same idempotency key (it got the
  stored true answer), or read the object back by its id or by its `reference`;
- `open`: neither, yet.

A duplicate outweighs a recovery: a client that read the payout back and then paid again
still paid twice."""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from datetime import timedelta
from typing import Annotated, Literal
from urllib.parse import parse_qs

import msgspec

from sandbox import db
from sandbox.core.clock import iso
from sandbox.core.types import said
from sandbox.faults.kinds import AFTER_COMMIT, AfterCommitKind
from sandbox.requests import store
from sandbox.requests.writer import WRITER

DUPLICATE_WINDOW = timedelta(minutes=10)
KINDS: list[AfterCommitKind] = sorted(AFTER_COMMIT)


class FaultCase(msgspec.Struct):
    request_id: Annotated[str, said("The faulted request's `X-Request-ID` (GET /sandbox/requests/{request_id})")]
    at: Annotated[str, said("When it arrived (RFC 3339, milliseconds), on the merchant's clock")]
    verdict: Annotated[Literal["recovered", "duplicated", "open"], said(
        f"`duplicated`: another payout to the same destination for the same amount was made within "
        f"{DUPLICATE_WINDOW // timedelta(minutes=1)} minutes after it (merchant's clock); `recovered`: "
        "otherwise, a later request reused its idempotency key or read the object back (by id or `reference`); "
        "`open`: neither, yet")]
    payout_id: Annotated[str | None, said("The payout the faulted request created; null when it created none")]
    duplicate_payout_id: Annotated[str | None, said("The second payout, for `duplicated`; null otherwise")]
    next_request_id: Annotated[str | None, said(
        "The later request that recovered it, or that made the duplicate payout; null for `open`")]


class FaultVerdicts(msgspec.Struct):
    kind: Annotated[AfterCommitKind, said("The fault after commit these cases got")]
    injected: Annotated[int, said("How many requests got it")]
    recovered: Annotated[int, said("How many of them are `recovered`")]
    duplicated: Annotated[int, said("How many of them are `duplicated`")]
    open: Annotated[int, said("How many of them are `open`")]
    cases: Annotated[list[FaultCase], said("Each faulted request and its verdict, oldest first")]


_PAYOUT_SQL = "SELECT id, amount, destination, reference, created_at FROM payout WHERE id = ANY($1::varchar[])"
_DUPLICATE_SQL = """
SELECT id FROM payout
 WHERE merchant = $1 AND id <> $2 AND amount = $3 AND destination = $4::jsonb
   AND created_at >= $5 AND created_at <= $5 + $6::interval
 ORDER BY created_at, id LIMIT 1
"""


def _payout_made(row) -> str | None:
    if row["method"] == "POST" and row["route"].endswith("/payouts") and 200 <= row["status"] < 300:
        return next((o for o in row["object_ids"] if o.startswith("po_")), None)
    return None


def _references_read(row) -> list[str]:
    if row["method"] != "GET" or "reference=" not in row["path"]:
        return []
    _, _, query = row["path"].partition("?")
    return parse_qs(query).get("reference", [])


class _Later:
    """Where each key, object and reference appears in the log, so that "the first later
    request that ..." is a binary search, not a scan of the log per fault (a merchant may
    fault every one of its 10,000 entries)."""

    def __init__(self, rows: list) -> None:
        self.by_key: dict[str, list[int]] = defaultdict(list)
        self.read: dict[str, list[int]] = defaultdict(list)  # objects a GET read, by id or by reference
        self.named: dict[str, list[int]] = defaultdict(list)  # objects any request named
        for i, row in enumerate(rows):
            if row["idempotency_key"] is not None:
                self.by_key[row["idempotency_key"]].append(i)
            for object_id in row["object_ids"]:
                self.named[object_id].append(i)
                if row["method"] == "GET":
                    self.read[object_id].append(i)
            for reference in _references_read(row):
                self.read["reference:" + reference].append(i)

    @staticmethod
    def first(places: list[int] | None, after: int) -> int | None:
        if not places or (at := bisect_right(places, after)) == len(places):
            return None
        return places[at]

    def recovery(self, at: int, key: str | None, touched: list[str], reference: str | None) -> int | None:
        found = [self.first(self.by_key.get(key), at) if key is not None else None,
                 *(self.first(self.read.get(o), at) for o in touched),
                 self.first(self.read.get("reference:" + reference), at) if reference is not None else None]
        return min((f for f in found if f is not None), default=None)


async def of_merchant(merchant_id: str) -> list[FaultVerdicts]:
    await WRITER.flush()
    rows = await store.all_of(merchant_id)
    faulted = [(i, r) for i, r in enumerate(rows) if r["fault"] in AFTER_COMMIT]
    payouts = {}
    if faulted:
        ids = [p for _, r in faulted if (p := _payout_made(r))]
        payouts = {p["id"]: p for p in await db.fetch(_PAYOUT_SQL, ids)}
    later = _Later(rows) if faulted else None
    by_kind: dict[AfterCommitKind, list[FaultCase]] = {kind: [] for kind in KINDS}
    for at, fault in faulted:
        assert later is not None
        payout_id = _payout_made(fault)
        payout = payouts.get(payout_id)
        duplicate = None
        if payout is not None:
            duplicate = await db.fetchval(_DUPLICATE_SQL, merchant_id, payout["id"], payout["amount"],
                                          payout["destination"], payout["created_at"], DUPLICATE_WINDOW)
        if duplicate is not None:
            maker = later.first(later.named.get(duplicate), at)
            case = FaultCase(fault["id"], iso(fault["at"]), "duplicated", payout_id, duplicate,
                             rows[maker]["id"] if maker is not None else None)
        else:
            reference = payout["reference"] if payout is not None else None
            recovery = later.recovery(at, fault["idempotency_key"], list(fault["object_ids"]), reference)
            case = FaultCase(fault["id"], iso(fault["at"]), "recovered" if recovery is not None else "open",
                             payout_id, None, rows[recovery]["id"] if recovery is not None else None)
        by_kind[fault["fault"]].append(case)
    return [FaultVerdicts(kind=kind, injected=len(cases), cases=cases,
                          recovered=sum(c.verdict == "recovered" for c in cases),
                          duplicated=sum(c.verdict == "duplicated" for c in cases),
                          open=sum(c.verdict == "open" for c in cases))
            for kind, cases in by_kind.items()]
