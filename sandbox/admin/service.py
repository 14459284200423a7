"""Admin views across merchants."""

from __future__ import annotations

from datetime import datetime

import msgspec

from sandbox.admin.schemas import AdminPayout, AdminPayoutPage, MerchantRequests, PayoutRequests, ReviewTotals
from sandbox.core.money import format_amount
from sandbox.payouts.lifecycle import service as payouts
from sandbox.payouts.model import views
from sandbox.payouts.store import repository as payout_rows


async def list_payouts(*, limit: int, cursor: str | None, status: str | None,
                       created_gte: datetime | None, created_lte: datetime | None,
                       merchant_id: str | None, team: str | None = None) -> AdminPayoutPage:
    """A page of payouts of every merchant, or of `team`'s merchants (a team key's)."""
    page = await payouts.list_rows(merchant_id, limit=limit, cursor=cursor, status=status,
                                   created_gte=created_gte, created_lte=created_lte, team=team)
    return AdminPayoutPage(
        data=[AdminPayout(**msgspec.structs.asdict(views.to_api(r)), merchant_id=r.merchant) for r in page.rows],
        has_more=page.has_more,
        next_cursor=page.next_cursor,
    )


async def payout_requests(team: str | None = None) -> PayoutRequests:
    """Per merchant (of `team`, when given) with anything open: payouts waiting for review
    and payouts in flight."""
    rows = await payout_rows.requests_by_merchant(team)
    return PayoutRequests(data=[
        MerchantRequests(
            merchant_id=r["id"],
            merchant_name=r["name"],
            requested=ReviewTotals(count=r["requested_count"], amount=format_amount(r["requested_amount"])),
            in_flight=ReviewTotals(count=r["flight_count"], amount=format_amount(r["flight_amount"])),
            on_hold=ReviewTotals(count=r["hold_count"], amount=format_amount(r["hold_amount"])),
            available=format_amount(r["available"]),
            locked=format_amount(r["locked"]),
        )
        for r in rows
    ])
