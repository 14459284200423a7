"""A job cut short by a Redis outage is said in one warning line, not as an error with its
traceback: the worker's own warnings say Redis is down, and the sweepers take the step up
again (a whole-suite run found arq's error line, with its traceback, when Redis stopped
while a step job deleted its marker). Any other failure keeps its level and traceback."""

from __future__ import annotations

import logging
import sys

import pytest
import redis.exceptions

from worker.resilient import RedisGoneJobLines


def arq_failure_record(exc: BaseException) -> logging.LogRecord:
    """The record arq's `logger.exception('%6.2fs ! %s failed, %s: %s', …)` makes for a job."""
    logger = logging.getLogger("arq.worker.test-lines")
    try:
        raise exc
    except BaseException:
        return logger.makeRecord(logger.name, logging.ERROR, __file__, 1, "%6.2fs ! %s failed, %s: %s",
                                 (0.0, "job1:step_due", type(exc).__name__, exc), sys.exc_info())


@pytest.mark.parametrize("exc", [
    redis.exceptions.ConnectionError("Error while reading from redis.sock : (104, 'Connection reset by peer')"),
    redis.exceptions.TimeoutError("Timeout reading from socket"),
    ConnectionResetError(104, "Connection reset by peer"),
])
def test_a_job_cut_short_by_redis_is_one_warning_without_a_traceback(exc) -> None:
    record = arq_failure_record(exc)
    assert RedisGoneJobLines().filter(record) is True
    assert record.levelno == logging.WARNING and record.levelname == "WARNING"
    assert record.exc_info is None
    assert "job1:step_due failed" in record.getMessage() and "Redis unreachable" in record.getMessage()


def test_any_other_failure_keeps_its_level_and_traceback() -> None:
    record = arq_failure_record(ValueError("a bug"))
    assert RedisGoneJobLines().filter(record) is True
    assert record.levelno == logging.ERROR and record.exc_info is not None
