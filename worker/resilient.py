"""An arq worker that outlives a Redis outage.

arq's poll loop lets any Redis error escape: one failed ZRANGEBYSCORE or heartbeat while
Redis restarts ends `Worker.main`, and `sandbox worker` exits (seen in the Redis restart
fault test). Here a Redis connection error costs one poll: the loop backs off, keeps
polling, and picks up where it was once Redis answers. Jobs in flight finish against
PostgreSQL; anything a lost job left undone is found by the sweepers."""

from __future__ import annotations

import asyncio
import logging

import redis.exceptions
from arq.worker import Worker

log = logging.getLogger("worker.redis")

# redis-py reports a connection lost under a WATCH as WatchError (seen while claiming a
# job during the Redis restart); arq only expects that one from EXEC and handles it there.
REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, redis.exceptions.WatchError,
              ConnectionError, OSError)
MAX_BACKOFF_S = 1.0


class ResilientWorker(Worker):
    _down_polls = 0

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
        try:
            await super().start_jobs(job_ids)
        except REDIS_DOWN:
            # arq had counted the job it was claiming and taken a slot for it before its
            # Redis pipeline failed; give both back, or each outage shrinks the worker by
            # one slot until it takes no jobs at all.
            self.job_counter -= 1
            self.sem.release()
            raise
