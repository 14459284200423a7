"""Admin views across merchants."""

from __future__ import annotations

from datetime import datetime

import msgspec

from sandbox import db
from sandbox.admin.schemas import AdminPayout, AdminPayoutPage, MerchantRequests, PayoutRequests, ReviewTotals
from sandbox.core.money import format_amount
from sandbox.payouts import service as payouts
from sandbox.payouts import states


async def list_payouts(*, limit: int, cursor: str | None, status: str | None,
                       created_gte: datetime | None, created_lte: datetime | None,
                       merchant_id: str | None) -> AdminPayoutPage:
    page = await payouts.list_rows(merchant_id, limit=limit, cursor=cursor, status=status,
                                   created_gte=created_gte, created_lte=created_lte)
    return AdminPayoutPage(
        data=[AdminPayout(**msgspec.structs.asdict(payouts.to_api(r)), merchant_id=r.merchant) for r in page.rows],
        has_more=page.has_more,
        next_cursor=page.next_cursor,
    )


# $1: the in-flight statuses (they include the two below, so each of those is a part
# of the in-flight total), $2: in review, $3: on hold.
_REQUESTS_SQL = """
SELECT m.id, m.name, b.available, b.locked,
       COUNT(p.id) FILTER (WHERE p.status = $2) AS requested_count,
       COALESCE(SUM(p.amount) FILTER (WHERE p.status = $2), 0)::bigint AS requested_amount,
       COUNT(p.id) AS flight_count,
       COALESCE(SUM(p.amount), 0)::bigint AS flight_amount,
       COUNT(p.id) FILTER (WHERE p.status = $3) AS hold_count,
       COALESCE(SUM(p.amount) FILTER (WHERE p.status = $3), 0)::bigint AS hold_amount
  FROM merchant m
  JOIN balance b ON b.merchant = m.id
  LEFT JOIN payout p ON p.merchant = m.id AND p.status = ANY($1::varchar[])
 GROUP BY m.id, m.name, b.available, b.locked
HAVING COUNT(p.id) > 0
 ORDER BY requested_amount DESC, flight_amount DESC, m.id
"""
_IN_FLIGHT = sorted(s.value for s in states.IN_FLIGHT)


async def payout_requests() -> PayoutRequests:
    """Per merchant with anything open: payouts waiting for review and payouts in flight."""
    rows = await db.fetch(_REQUESTS_SQL, _IN_FLIGHT, states.IN_REVIEW.value, states.ON_HOLD.value)
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
