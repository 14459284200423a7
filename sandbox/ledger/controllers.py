from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, get
from litestar.params import QueryParameter

from sandbox.auth.keys import MERCHANT_ONLY
from sandbox.core.clock import iso
from sandbox.core.errors import ValidationFailed
from sandbox.core.money import format_amount
from sandbox.core.pagination import cut, decode_cursor
from sandbox.ledger import service, verify
from sandbox.ledger.schemas import BalanceOut, LedgerEntryOut, LedgerPage
from sandbox.ledger.verify import LedgerVerification

FEED_MAX = 1000


class BalanceController(Controller):
    path = "/balance"
    tags = ["Balance"]
    opt = MERCHANT_ONLY

    @get("", operation_id="getBalance", summary="The merchant's balance buckets")
    async def balance(self, request: Request) -> BalanceOut:
        row = await service.get_balance(request.user.merchant_id)
        return BalanceOut(
            currency=row["currency"],
            available=format_amount(row["available"]),
            locked=format_amount(row["locked"]),
            pending=format_amount(row["pending"]),
            total=format_amount(row["available"] + row["locked"] + row["pending"]),
        )

    @get("/verify", operation_id="verifyLedger", summary="Check the balance against the ledger")
    async def check(self, request: Request) -> LedgerVerification:
        """Each bucket as the balance row holds it and as the ledger entries sum it, the
        number of ledger transactions and of unbalanced ones (always 0), and `ok`."""
        return await verify.verify(request.user.merchant_id)

    @get("/history", operation_id="listLedgerEntries", summary="Ledger entries")
    async def history(
        self,
        request: Request,
        # schema_extra: Litestar drops a falsy `ge=0` from the spec.
        since_seq: Annotated[int | None, QueryParameter(ge=0, le=2**62, schema_extra={"minimum": 0},
                             description="Feed mode: entries with seq > since_seq, oldest first")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=FEED_MAX)] = 100,
        cursor: Annotated[str | None, QueryParameter(max_length=200)] = None,
    ) -> LedgerPage:
        """Newest first by default. With `since_seq`, a polling feed: every entry of the
        merchant's buckets exactly once, in commit order — `seq` is per merchant and gapless."""
        if since_seq is not None and cursor:
            raise ValidationFailed.field("cursor", "send either since_seq or cursor, not both")
        feed_from = since_seq
        before = None
        if cursor:
            try:
                feed_from = decode_cursor(cursor, "s")
            except ValidationFailed:
                before = decode_cursor(cursor, "p")
        rows = await service.history(request.user.merchant_id, since_seq=feed_from, before_seq=before, limit=limit)
        page = cut(rows, limit, "s" if feed_from is not None else "p", position=lambda r: r["seq"])
        return LedgerPage(
            data=[
                LedgerEntryOut(
                    seq=r["seq"],
                    transaction_id=r["transaction_id"],
                    bucket=r["bucket"],
                    amount=format_amount(r["amount"]),
                    kind=r["kind"],
                    payout_id=r["payout_id"],
                    created_at=iso(r["created_at"]),
                )
                for r in page.rows
            ],
            has_more=page.has_more,
            next_cursor=page.next_cursor,
        )
