"""Counts by label that database triggers keep for /metrics, so a scrape never reads a
whole table. A domain's migration adds triggers that append (metric, label, ±1) rows to
`metric_count_delta` as its rows change; `fold()` moves those into `metric_count`
(one row per metric and label) and returns every count. Its cost is the number of
labels plus the changes since the last fold, whatever the size of the history; the
metrics flusher folds every `FOLD_EVERY_S` so the deltas stay few even unscraped.

One statement, one round trip. A transaction-scoped advisory lock lets one fold at a
time move rows (two folds upserting the same totals could deadlock); a fold that does
not get it reads totals plus deltas as its snapshot shows them, which is the same sum."""

from __future__ import annotations

from sandbox import db

FOLD_EVERY_S = 60.0
FOLD_TIMEOUT_S = 10.0
_FOLD_LOCK = 0x6D6574726963  # "metric": the advisory lock key of the fold

_FOLD_SQL = f"""
WITH fold_lock AS MATERIALIZED (SELECT pg_try_advisory_xact_lock({_FOLD_LOCK}) AS held),
moved AS (
    DELETE FROM metric_count_delta d USING fold_lock WHERE fold_lock.held RETURNING d.metric, d.label, d.n
),
sums AS (SELECT metric, label, sum(n) AS n FROM moved GROUP BY metric, label),
upserted AS (
    INSERT INTO metric_count (metric, label, n) SELECT metric, label, n FROM sums
    ON CONFLICT (metric, label) DO UPDATE SET n = metric_count.n + EXCLUDED.n
    RETURNING 1
)
SELECT metric, label, sum(n)::bigint AS n FROM (
    SELECT metric, label, n FROM metric_count
    UNION ALL SELECT metric, label, n FROM sums
    UNION ALL SELECT d.metric, d.label, d.n FROM metric_count_delta d, fold_lock WHERE NOT fold_lock.held
) every_count
GROUP BY metric, label
"""


class Counts:
    """What one fold returned: `counts.of("payouts")` → {label: count}."""

    def __init__(self, rows) -> None:
        self._by_metric: dict[str, dict[str, int]] = {}
        for row in rows:
            self._by_metric.setdefault(row["metric"], {})[row["label"]] = row["n"]

    def of(self, metric: str) -> dict[str, int]:
        return dict(self._by_metric.get(metric, {}))


async def fold() -> Counts:
    return Counts(await db.fetch(_FOLD_SQL))
