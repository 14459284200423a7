"""The worker in /metrics: `sandbox_worker_up` is 1 while a worker's heartbeat is fresh
(the same heartbeat `/ready`'s `worker` and `sandbox worker --check` read), 0 otherwise, so
an alert fires on a worker outage that API readiness no longer hides or shows."""

from __future__ import annotations

from prometheus_client.core import GaugeMetricFamily, Metric

from sandbox.health.controllers import worker_reported
from sandbox.observability.counts import Counts


async def collect(_counts: Counts) -> list[Metric]:
    from sandbox.health.heartbeat import ttl_s  # lazily, as /ready: it imports arq

    return [GaugeMetricFamily("sandbox_worker_up", f"1 when a worker reported within the last {ttl_s():g} s, "
                              "else 0", value=int(await worker_reported()))]
