"""Prometheus metrics, correct across processes.

`sandbox api` may run several uvicorn workers, docker-compose several API containers,
and there may be several workers: a per-process counter would show whichever process
answered the scrape. So every number /metrics serves is global:

- Request and job timings: each process adds its observations to an in-memory table
  (a dict lookup and three integer additions per request; no I/O) and a background task
  adds that table to hashes in Redis every `SANDBOX_METRICS_FLUSH_S` seconds (one
  pipelined round trip for everything since the last flush). A scrape first flushes its
  own process, then reads the hashes. Another process's last second may be missing.
- Domain numbers (payouts by status, webhook deliveries, ...): each domain registers a
  collector here at app start-up (`register`); core knows no domain. A scrape folds the
  trigger-kept counts once (`sandbox.observability.counts`: cost independent of history)
  and hands them to every collector, which may add a query of its own that reads only a
  partial index (never a whole table).
- Queue depth: ZCARD of arq's queue in Redis at scrape time.

No per-process metrics (CPU, GC) are exported: with several workers they would
describe a random one."""

from __future__ import annotations

import asyncio
import logging
import time
from bisect import bisect_left
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping

from litestar import Request, Response, get
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from sandbox import redis_client
from sandbox.auth import keys
from sandbox.core.errors import Forbidden, Unauthenticated
from sandbox.observability import counts as metric_counts

log = logging.getLogger("sandbox.metrics")

CONTENT_TYPE = CONTENT_TYPE_LATEST
KEY_PREFIX = "sandbox:metrics:"
ARQ_QUEUE = "arq:queue"  # arq's default queue, which every job here uses
_SEP = "\x1f"  # between label values in a Redis hash field (never in a route or job name)

HTTP_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
JOB_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


class Histogram:
    """One histogram's observations in this process since the last flush."""

    def __init__(self, name: str, doc: str, labels: tuple[str, ...], buckets: tuple[float, ...]) -> None:
        self.name, self.doc, self.labels, self.buckets = name, doc, labels, buckets
        self.key = KEY_PREFIX + name
        # label values → [count in bucket 0 .. n-1, count above the last bucket, sum]
        self._pending: dict[tuple[str, ...], list[float]] = {}

    def observe(self, labels: tuple[str, ...], seconds: float) -> None:
        row = self._pending.get(labels)
        if row is None:
            row = self._pending[labels] = [0] * (len(self.buckets) + 1) + [0.0]
        row[bisect_left(self.buckets, seconds)] += 1
        row[-1] += seconds

    def take(self) -> dict[tuple[str, ...], list[float]]:
        pending, self._pending = self._pending, {}
        return pending

    def put_back(self, pending: dict[tuple[str, ...], list[float]]) -> None:
        for labels, row in pending.items():
            mine = self._pending.setdefault(labels, [0] * (len(self.buckets) + 1) + [0.0])
            for i, value in enumerate(row):
                mine[i] += value

    def family(self, stored: dict[bytes, bytes]) -> HistogramMetricFamily:
        """The Prometheus family from the hash: fields `<labels>|<bucket index>` hold
        per-bucket counts (made cumulative here), `<labels>|sum` the sum."""
        rows: dict[tuple[str, ...], list[float]] = {}
        n = len(self.buckets) + 1
        for field, value in stored.items():
            labels_text, _, slot = field.decode().rpartition("|")
            row = rows.setdefault(tuple(labels_text.split(_SEP)), [0] * n + [0.0])
            if slot == "sum":
                row[-1] = float(value)
            elif slot.isdigit() and int(slot) < n:
                row[int(slot)] = int(value)
        family = HistogramMetricFamily(self.name, self.doc, labels=list(self.labels))
        for labels, row in sorted(rows.items()):
            if len(labels) != len(self.labels):
                continue
            cumulative, buckets = 0, []
            for le, count in zip((*map(_le, self.buckets), "+Inf"), row[:-1], strict=True):
                cumulative += count
                buckets.append((le, cumulative))
            family.add_metric(list(labels), buckets, sum_value=row[-1])
        return family


def _le(bound: float) -> str:
    return repr(float(bound))


HTTP = Histogram("sandbox_http_request_duration_seconds",
                 "API request latency by route template, method and status class",
                 ("route", "method", "status"), HTTP_BUCKETS)
JOB_RUN = Histogram("sandbox_job_duration_seconds", "Worker job run time by job name and outcome",
                    ("job", "outcome"), JOB_BUCKETS)
JOB_WAIT = Histogram("sandbox_job_queue_wait_seconds",
                     "Time from when a job was due to when a worker started it, by job name",
                     ("job",), JOB_BUCKETS)
HISTOGRAMS = (HTTP, JOB_RUN, JOB_WAIT)


async def flush(histograms: Iterable[Histogram] = HISTOGRAMS) -> None:
    """Add this process's pending observations to Redis in one pipelined round trip."""
    taken = [(h, h.take()) for h in histograms]
    if not any(pending for _, pending in taken):
        return
    try:
        pipe = redis_client.get().pipeline(transaction=False)
        for h, pending in taken:
            for labels, row in pending.items():
                prefix = _SEP.join(labels) + "|"
                for i, count in enumerate(row[:-1]):
                    if count:
                        pipe.hincrby(h.key, prefix + str(i), int(count))
                pipe.hincrbyfloat(h.key, prefix + "sum", row[-1])
        await pipe.execute()
    except BaseException:
        # Redis down or restarting, or the write cancelled (a stop, a deadline): keep the
        # numbers for the next flush, or for the stop to count what it could not write.
        for h, pending in taken:
            h.put_back(pending)
        raise


LAST_FLUSH_S = 3.0  # the last write at stop, under the shutdown step's deadline (5 s)


class Flusher:
    """Flushes every `interval` seconds in the background, and once more on stop; folds
    the trigger-kept counts every `metric_counts.FOLD_EVERY_S`."""

    def __init__(self, interval: float) -> None:
        self.interval = max(interval, 0.05)
        self._task: asyncio.Task | None = None
        self._busy = False  # inside a flush or a fold, which a stop lets finish
        self._folding = False  # inside a fold, which a stop does not wait for
        self._stopping = False

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="metrics-flush")

    async def _run(self) -> None:
        failing = False
        folded_at = time.monotonic()
        while not self._stopping:
            await asyncio.sleep(self.interval)
            self._busy = True
            try:
                await flush()
                if not self._stopping and time.monotonic() - folded_at >= metric_counts.FOLD_EVERY_S:
                    # Keeps the trigger-written deltas few even when nobody scrapes.
                    folded_at = time.monotonic()
                    self._folding = True
                    # Bounded: a stuck database must not stall the Redis flushes.
                    async with asyncio.timeout(metric_counts.FOLD_TIMEOUT_S):
                        await metric_counts.fold()
                failing = False
            except Exception as exc:
                if not failing and not self._stopping:  # once per outage; at a stop, no retry
                    log.warning("metrics flush failed, will retry: %s", exc)
                failing = True
            finally:
                self._busy = self._folding = False

    async def stop(self) -> None:
        """One last pipelined write of what is pending, within LAST_FLUSH_S; if Redis does
        not answer, a line says how many observations were not written. The background task
        is cancelled only while it sleeps. A flush in progress is waited for, within the same
        LAST_FLUSH_S: left behind, the Redis client's close, a later step, ended it half-way,
        its observations lost, and its "will retry" warning came after the stop had begun
        (the kill-and-restart lane under stress-ng, 29 Nov). A fold in progress is left to
        end by itself (the loop then ends): cancelled inside it, asyncpg ends the statement
        on a new PostgreSQL connection before it gives its own back, and releases it mid
        transaction, which under CPU load took the stop past its 5 s and logged an error
        (the same lane). The pool's close, a later step, waits for that connection; the
        observations this write sends were taken apart from it."""
        self._stopping = True
        try:
            async with asyncio.timeout(LAST_FLUSH_S):
                if self._task is not None:
                    task, self._task = self._task, None
                    if not self._busy:
                        task.cancel()
                        await asyncio.gather(task, return_exceptions=True)
                    elif not self._folding:
                        await asyncio.wait({task})  # its flush; the loop ends after it
                await flush()
        except TimeoutError:
            dropped = sum(int(sum(row[:-1])) for h in HISTOGRAMS for row in h.take().values())
            log.warning("last metrics flush: Redis did not answer within %g s; %d observations not written",
                        LAST_FLUSH_S, dropped)
        except Exception as exc:
            log.warning("last metrics flush failed: %s", exc)


# --- the scrape -------------------------------------------------------------------

# A domain's part of a scrape: given the trigger-kept counts, its metric families.
Collector = Callable[[metric_counts.Counts], Awaitable[Iterable[Metric]]]
_collectors: list[Collector] = []


def register(collector: Collector) -> None:
    """Add a domain's collector to every scrape (once, however often app start-up runs)."""
    if collector not in _collectors:
        _collectors.append(collector)


class _Snapshot:
    """What one scrape read, as a prometheus_client collector."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterator[Metric]:
        return iter(self.families)


def gauge_by_label(name: str, doc: str, label: str, counts: dict[str, int],
                   known: Iterable[str] = ()) -> GaugeMetricFamily:
    """A gauge with one sample per label value; `known` values appear even at 0."""
    family = GaugeMetricFamily(name, doc, labels=[label])
    for key, value in sorted((dict.fromkeys(known, 0) | counts).items()):
        family.add_metric([key], value)
    return family


async def render() -> bytes:
    """The exposition text for one scrape."""
    await flush()
    redis = redis_client.get()
    pipe = redis.pipeline(transaction=False)
    for h in HISTOGRAMS:
        pipe.hgetall(h.key)
    pipe.zcard(ARQ_QUEUE)
    *stored, depth = await pipe.execute()
    counts = await metric_counts.fold()

    families: list[Metric] = [h.family(s) for h, s in zip(HISTOGRAMS, stored, strict=True)]
    for collector in _collectors:
        families.extend(await collector(counts))
    families.append(GaugeMetricFamily("sandbox_queue_depth", "Jobs waiting in the arq queue (due or deferred)",
                                      value=depth))
    return generate_latest(_Snapshot(families))


@get("/metrics", include_in_schema=False, cache=False)
async def metrics_endpoint(request: Request) -> Response[bytes]:
    """Prometheus scrape, for the operator's key only: the page names every team (by id)
    and its usage. The key goes in X-API-KEY, or as `Authorization: Bearer <key>`, which is
    what a Prometheus scrape config's `authorization` section sends. Without a key 401, with
    a team's or a merchant's 403, both problem+json."""
    key = scrape_key(request.headers)
    if key is None:
        raise Unauthenticated(f"{OPERATOR_ONLY_WORDS}: send it in the X-API-KEY header or as Authorization: Bearer")
    if not (await keys.authenticate(key)).operator:
        raise Forbidden(f"{OPERATOR_ONLY_WORDS}, not a team's or a merchant's")
    return Response(await render(), media_type=CONTENT_TYPE)


OPERATOR_ONLY_WORDS = "/metrics answers the operator's key only (SANDBOX_ADMIN_KEY)"


def scrape_key(headers: Mapping[str, str]) -> str | None:
    """The key of a scrape: X-API-KEY, else the token of `Authorization: Bearer`."""
    key = headers.get("x-api-key")
    if key:
        return key
    scheme, _, token = (headers.get("authorization") or "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None
