"""Teams in /metrics: each team's usage beside its quotas, labelled by team id (ids the
operator made; no merchant, key or amount). Read from the team rows with two counts per
team (`merchant_team` index; endpoints not deleted) and the day's payout counters in Redis,
at most MAX_TEAMS_LISTED teams."""

from __future__ import annotations

from prometheus_client.core import GaugeMetricFamily, Metric

from sandbox.observability.counts import Counts
from sandbox.teams import service

USAGE = (("merchants", "max_merchants", "sandbox_team_merchants", "Merchants of the team"),
         ("payouts_today", "max_payouts_per_day", "sandbox_team_payouts_today",
          "Payouts the team's merchants made today (UTC), through POST /payouts and payout batches"),
         ("webhook_endpoints", "max_webhook_endpoints", "sandbox_team_webhook_endpoints",
          "Webhook endpoints (not deleted) of the team's merchants"))


async def collect(_counts: Counts) -> list[Metric]:
    teams = await service.usage()
    families: list[Metric] = []
    quota = GaugeMetricFamily("sandbox_team_quota", "A team's bound (absent: no bound)", labels=["team", "quota"])
    for field, bound, name, words in USAGE:
        family = GaugeMetricFamily(name, words, labels=["team"])
        for team in teams:
            family.add_metric([team.id], getattr(team.usage, field))
            limit = getattr(team.quotas, bound)
            if limit is not None:
                quota.add_metric([team.id, bound], limit)
        families.append(family)
    return [*families, quota]
