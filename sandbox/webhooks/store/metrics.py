"""The webhooks' part of /metrics. Deliveries by status and attempts by outcome come
from the counts their tables' triggers keep; events not yet relayed are counted in
`outbox_unrelayed`, which holds only those (the backlog, not the history). No scrape
reads a whole table."""

from __future__ import annotations

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from sandbox import db
from sandbox.observability.counts import Counts
from sandbox.observability.metrics import gauge_by_label

DELIVERY_STATUSES = ("pending", "succeeded", "failed", "cancelled")
_UNRELAYED_SQL = "SELECT count(*) FROM outbox_unrelayed"


async def collect(counts: Counts) -> list[Metric]:
    deliveries = gauge_by_label("sandbox_webhook_deliveries", "Webhook deliveries (one event to one endpoint) "
                                "by status", "status", counts.of("webhook_deliveries"), DELIVERY_STATUSES)
    # Every attempt row is kept, so their count only grows: a counter.
    attempts = CounterMetricFamily("sandbox_webhook_attempts", "Webhook HTTP attempts by outcome (no_response: "
                                   "timeout or connection error)", labels=["outcome"])
    for outcome, n in sorted(({"success": 0} | counts.of("webhook_attempts")).items()):
        attempts.add_metric([outcome], n)
    unrelayed = GaugeMetricFamily("sandbox_outbox_unrelayed_events", "Events not yet relayed to endpoints",
                                  value=await db.fetchval(_UNRELAYED_SQL))
    return [deliveries, attempts, unrelayed]
