"""The worker's heartbeat interval is a setting (SANDBOX_WORKER_HEARTBEAT_S), and its key
lives three intervals: 5 s and 15 s by default. A worker killed outright is seen gone
within the three (tests/observability/test_processes.py kills one with a 1 s heartbeat)."""

from __future__ import annotations

import pytest

from sandbox.health import heartbeat
from sandbox.settings import SettingError


def test_written_every_interval_and_kept_three(monkeypatch):
    monkeypatch.delenv("SANDBOX_WORKER_HEARTBEAT_S", raising=False)
    assert (heartbeat.interval_s(), heartbeat.ttl_s()) == (5, 15)
    monkeypatch.setenv("SANDBOX_WORKER_HEARTBEAT_S", "1")
    assert (heartbeat.interval_s(), heartbeat.ttl_s()) == (1, 3)


@pytest.mark.parametrize("value", ["0", "-1", "soon"])
def test_an_interval_that_is_no_time_is_refused(monkeypatch, value):
    monkeypatch.setenv("SANDBOX_WORKER_HEARTBEAT_S", value)
    with pytest.raises(SettingError, match="SANDBOX_WORKER_HEARTBEAT_S must be"):
        heartbeat.interval_s()
