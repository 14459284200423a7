"""Enqueueing work for the arq worker. Jobs take ids and reload state, so a job that
runs twice, late, or after its payout moved on does nothing harmful."""

from __future__ import annotations

from datetime import timedelta

from sandbox.core import redis as redis_client


async def enqueue(function: str, *args, job_id: str | None = None, delay: timedelta | None = None) -> None:
    defer = delay if delay is not None and delay.total_seconds() > 0 else None
    await redis_client.get().enqueue_job(function, *args, _job_id=job_id, _defer_by=defer)
