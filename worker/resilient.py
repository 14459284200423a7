"""An arq worker that outlives a Redis outage, and claims jobs in batches.

arq's poll loop lets any Redis error escape: one failed ZRANGEBYSCORE or heartbeat while
Redis restarts ends `Worker.main`, and `sandbox worker` exits (seen in the Redis restart
fault test). Here a Redis connection error costs one poll: the loop backs off, keeps
polling, and picks up where it was once Redis answers. Jobs in flight finish against
PostgreSQL; anything a lost job left undone is found by the sweepers.

Claiming: see `start_jobs` (one round trip for every job a poll can start, not four
per job)."""

from __future__ import annotations

import asyncio
import logging

import redis.exceptions
from arq.constants import in_progress_key_prefix
from arq.utils import timestamp_ms
from arq.worker import Worker

log = logging.getLogger("worker.redis")

# redis-py reports a connection lost under a WATCH as WatchError (seen while claiming a
# job during the Redis restart); arq only expects that one from EXEC and handles it there.
REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, redis.exceptions.WatchError,
              ConnectionError, OSError)
MAX_BACKOFF_S = 1.0

# Claim one job, as arq's start_jobs does with WATCH/MULTI, atomically. KEYS: the queue,
# the job's in-progress key. ARGV: job id, now (ms), in-progress TTL (ms). Returns the
# job's score, or nil when it is running elsewhere, no longer queued, or not due yet.
_CLAIM = """
if redis.call('exists', KEYS[2]) == 1 then return nil end
local score = redis.call('zscore', KEYS[1], ARGV[1])
if not score or tonumber(score) > tonumber(ARGV[2]) then return nil end
redis.call('psetex', KEYS[2], ARGV[3], '1')
return score
"""


class ResilientWorker(Worker):
    _down_polls = 0

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._slot_freed = asyncio.Event()

    async def _poll_iteration(self) -> None:
        try:
            await super()._poll_iteration()
        except REDIS_DOWN as exc:
            if self._down_polls == 0:
                log.warning("Redis is unreachable (%s); the worker keeps polling until it is back", exc)
            self._down_polls += 1
            # Back off (up to 1 s) so a long outage is not a busy loop of failed connects.
            await asyncio.sleep(min(MAX_BACKOFF_S, self.poll_delay_s * 2 ** min(self._down_polls, 10)))
            return
        if self._down_polls:
            log.warning("Redis answers again after %d failed polls", self._down_polls)
            self._down_polls = 0

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        """arq's start_jobs, with the claims batched: as many of the ids as there are free
        slots (waiting for one when none is) are claimed by `_CLAIM` in one pipeline, one
        round trip, where arq spends four on each job (WATCH, EXISTS, ZSCORE, MULTI/EXEC).
        The rule is arq's: a job already in progress, gone from the queue or not due yet
        is skipped; else its in-progress key is set and it runs. Unlike arq, a full worker
        waits here for a slot (up to a poll delay) instead of leaving the ids for the next
        poll at once: jobs shorter than the poll delay would leave every slot idle."""
        ids = [job_id.decode() for job_id in job_ids]
        while ids:
            while self.job_counter >= self.max_jobs:
                self._slot_freed.clear()
                try:
                    await asyncio.wait_for(self._slot_freed.wait(), self.poll_delay_s)
                except TimeoutError:
                    return  # as arq does when full; the heartbeat and cron jobs run before the next poll
            free = self.max_jobs - self.job_counter
            batch, ids = ids[:free], ids[free:]
            for _ in batch:
                await self.sem.acquire()  # arq's count of slots (free: it does not wait)
            self.job_counter += len(batch)
            try:
                scores = await self._claim(batch)
            except REDIS_DOWN:
                # Give back the slots taken for the batch, or each outage shrinks the worker
                # until it takes no jobs at all.
                for _ in batch:
                    self._release_sem_dec_counter_on_complete()
                raise
            for job_id, score in zip(batch, scores, strict=True):
                if score is None:  # running elsewhere, finished, or deferred again
                    self._release_sem_dec_counter_on_complete()
                    continue
                task = self.loop.create_task(self.run_job(job_id, int(float(score))))
                task.add_done_callback(lambda _: self._release_sem_dec_counter_on_complete())
                self.tasks[job_id] = task

    def _release_sem_dec_counter_on_complete(self) -> None:
        super()._release_sem_dec_counter_on_complete()
        self._slot_freed.set()

    async def _claim(self, job_ids: list[str]) -> list:
        """The queue score of each job claimed, None for each skipped."""
        now_ms = timestamp_ms()
        ttl_ms = int(self.in_progress_timeout_s * 1000)
        async with self.pool.pipeline(transaction=False) as pipe:
            for job_id in job_ids:
                pipe.eval(_CLAIM, 2, self.queue_name, in_progress_key_prefix + job_id, job_id, now_ms, ttl_ms)
            return await pipe.execute()
