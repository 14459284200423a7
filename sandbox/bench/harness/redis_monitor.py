"""Every command Redis runs, counted by name and key while the cost bench runs (Redis's
MONITOR, read in a thread of the bench): a window's commands are the difference of two
snapshots. Commands that a Lua script runs are not counted (the script's EVALSHA is: one
command sent, one round trip)."""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter

import redis

POLL = ("ZRANGEBYSCORE", "arq:queue")  # the worker's poll for due jobs, once an iteration of its loop
# The bench's own look at whether the worker is quiet (`quiet`): not counted. The worker sends
# neither (its heartbeat's ZCARD is written once, before anything is counted).
QUIET = (("ZCARD", "arq:queue"), ("KEYS", "arq:in-progress:*"))


class RedisMonitor:
    def __init__(self, redis_url: str) -> None:
        self._client = redis.Redis.from_url(redis_url)
        self._counts: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._marks: set[str] = set()
        self._thread = threading.Thread(target=self._read, name="redis-monitor", daemon=True)

    def start(self) -> RedisMonitor:
        self._thread.start()
        if not self._ready.wait(30):
            raise TimeoutError("Redis's MONITOR did not start")
        return self

    def _read(self) -> None:
        try:
            self._listen()
        except redis.ConnectionError:
            return  # the server stopped at the end of the run: nothing more to count

    def _listen(self) -> None:
        with self._client.monitor() as monitor:
            self._ready.set()
            for entry in monitor.listen():
                if entry["client_type"] == "lua":
                    continue
                words = entry["command"].split(" ")
                name = words[0].upper()
                if name == "MONITOR":
                    continue
                if name == "ECHO" and len(words) > 1 and words[1].startswith("cost-mark-"):
                    with self._lock:
                        self._marks.add(words[1])
                    continue
                what = (name, words[1] if len(words) > 1 else "")
                if what in QUIET:
                    continue
                with self._lock:
                    self._counts[what] += 1

    def quiet(self) -> bool:
        """No job queued and none running: whatever the worker was asked to do is done."""
        return not self._client.zcard(QUIET[0][1]) and not self._client.keys(QUIET[1][1])

    def snapshot(self) -> Counter[tuple[str, str]]:
        """The counts so far: every command Redis ran before this call is in them (a marker
        sent now, and seen by the monitor, comes after each of them)."""
        mark = f"cost-mark-{secrets.token_hex(6)}"
        self._client.echo(mark)
        deadline = time.monotonic() + 60
        while True:
            with self._lock:
                if mark in self._marks:
                    return Counter(self._counts)
            if time.monotonic() > deadline:
                raise TimeoutError("Redis's MONITOR fell behind by a minute")
            time.sleep(0.01)  # polling for the marker, bounded by the deadline
