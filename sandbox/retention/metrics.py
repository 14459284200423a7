"""Retention in /metrics: what the worker's passes removed since the Redis data began,
from the hash every pass adds to (sweep.py)."""

from __future__ import annotations

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from sandbox import redis_client
from sandbox.observability.counts import Counts
from sandbox.retention import removal
from sandbox.retention.sweep import METRICS_KEY


async def collect(_counts: Counts) -> list[Metric]:
    # (redis-py types each command's answer as "an awaitable or the value": async here)
    raw = await redis_client.get().hgetall(METRICS_KEY)  # pyright: ignore[reportGeneralTypeIssues]
    stored = {k.decode(): v.decode() for k, v in raw.items()}
    total = CounterMetricFamily("sandbox_retention_sweeps", "Retention passes the workers ran",
                                value=int(stored.get("sweeps", 0)))
    merchants = CounterMetricFamily("sandbox_retention_merchants_removed", "Idle merchants retention removed",
                                    value=int(stored.get("merchants", 0)))
    rows = CounterMetricFamily("sandbox_retention_rows_removed", "Rows retention removed with them, by table",
                               labels=["table"])
    for table in removal.TABLES:
        rows.add_metric([table], int(stored.get(f"rows|{table}", 0)))
    keys = CounterMetricFamily("sandbox_retention_redis_keys_removed", "Redis keys retention removed with them",
                               value=int(stored.get("redis_keys", 0)))
    last = GaugeMetricFamily("sandbox_retention_last_sweep_timestamp_seconds",
                             "When the last retention pass ended (Unix time; 0: none yet)",
                             value=float(stored.get("last_sweep_at", 0)))
    return [total, merchants, rows, keys, last]
