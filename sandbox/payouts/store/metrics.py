"""The payouts' part of /metrics: how many payouts are in each status, from the counts
the `payout` table's triggers keep (no scan of the table at scrape time)."""

from __future__ import annotations

from prometheus_client.core import Metric

from sandbox.observability.counts import Counts
from sandbox.observability.metrics import gauge_by_label
from sandbox.payouts.model.states import STATUSES


async def collect(counts: Counts) -> list[Metric]:
    return [gauge_by_label("sandbox_payouts", "Payouts by current status (all merchants)", "status",
                           counts.of("payouts"), STATUSES)]
