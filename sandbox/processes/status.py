"""`sandbox status`: each part of the `sandbox up` running on this data dir, one line each:
its pid, how long it has run, the worker's last heartbeat and the queue it works from, and
whether it is ready. Exit 0 when every part serves, 1 when one does not (named on
stderr), 3 when no `sandbox up` runs on the data dir (the LSB's "not running", as `pg_ctl
status` answers).

What it reads, all of it already there for something else:
- which process is which: what `up` records in the data dir (registry.py), each checked
  against its title in /proc (titles.py), so a pid the system has since given to another
  process is not taken for a part;
- ready: the API's GET /api/v1/ready, the one meaning of ready (sandbox/health/controllers.py),
  which asks PostgreSQL, Redis, the worker's heartbeat and the IPN;
- the worker's heartbeat: arq's health key (sandbox/health/heartbeat.py), written every
  5 s with a lifetime of 6 s, so its age is 6 s less the time it has left; a worker is
  ready only once it has written one since it started (the key a killed worker left lives
  on for up to 6 s after it);
- the queue: arq's queue in Redis, its jobs and how many of them are due;
- the worker's priority: where its PostgreSQL server processes could not be given its
  niceness, why, as the worker wrote it to Redis at its start (sandbox/runtime/backend_nice.py)."""

from __future__ import annotations

import argparse
import contextlib
import json
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from sandbox.processes.stderr import fail
from sandbox.processes.titles import PREFIX, part_of
from sandbox.settings import SettingError, get_settings

if TYPE_CHECKING:  # imported when the command runs: every `sandbox` command builds the parser
    import psutil

    from sandbox.processes.registry import Recorded

NOT_RUNNING = 3
ASK_TIMEOUT_S = 3.0  # for /ready (which answers within 2 s whatever the servers do) and Redis
# part -> what its process name starts with: the embedded Redis is valkey-server, or the
# redis-server SANDBOX_REDIS_SERVER names.
SERVERS: dict[str, tuple[str, ...]] = {"postgres": ("postgres",), "redis": ("valkey", "redis")}
ORDER = ("supervisor", "api", "ipn", "worker", "postgres", "redis")


@dataclass
class Part:
    part: str  # supervisor, api, ipn, worker, postgres, redis
    name: str  # as `ps` shows it: the title less `mypay-sandbox: ` (`api :8000`, `api process 2`)
    pid: int | None  # None: an external server, or none running
    uptime_s: float | None
    heartbeat_s_ago: float | None  # the worker's only
    queue: int | None  # the worker's: jobs in arq's queue
    queue_due: int | None  # of them, due now
    ready: str  # "ok", or "down: " / "starting: " / "unknown: " and why
    note: str | None = None  # the worker's: what it could not do, though it serves

    @property
    def ok(self) -> bool:
        return self.ready == "ok"


def add_command(sub) -> None:
    status = sub.add_parser("status", help="each part of the `sandbox up` on this data dir: pid, uptime, the "
                                           "worker's heartbeat, the queue, ready or not; exit 1 when a part is "
                                           f"down, {NOT_RUNNING} when none runs")
    status.add_argument("--json", action="store_true", help="print JSON instead of the table")
    status.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sandbox.processes import registry

    try:
        data_dir = get_settings().data_dir.resolve()
    except SettingError as exc:
        return fail(str(exc), 2)
    recorded = registry.read(data_dir)
    supervisor = _process(recorded.pids.get("supervisor"), "supervisor") if recorded else None
    if recorded is None or supervisor is None:
        why = "none has run or it stopped" if recorded is None else "the one recorded there has ended"
        if args.json:
            print(json.dumps({"data_dir": str(data_dir), "running": False, "ok": False, "parts": []}))
        return fail(f"no `sandbox up` runs on {data_dir} ({why})", NOT_RUNNING)
    parts = look(recorded)
    down = [p for p in parts if not p.ok]
    if args.json:
        print(json.dumps({"data_dir": str(data_dir), "running": True, "ok": not down,
                          "parts": [asdict(p) for p in parts]}))
    else:
        print(f"MyPay Sandbox on {data_dir} (API {recorded.api_url}/api/v1)")
        print(render(parts))
        for part in parts:
            if part.note:
                print(f"note: {part.name}: {part.note}")
    for part in down:
        fail(f"{part.name}: {part.ready}")
    return 1 if down else 0


def look(recorded: Recorded) -> list[Part]:
    now = time.time()
    ready, why_not = _ready(recorded.api_url)
    heartbeat, queue, due, priority = _queue(recorded.redis_url or get_settings().redis_url)
    parts = []
    for part in ORDER:
        if part not in recorded.pids and part in SERVERS:
            # Given by URL: not `up`'s to run, but the sandbox needs it all the same.
            parts.append(Part(part, part, None, None, None, None, None, _said(ready, why_not, part)))
            continue
        pid = recorded.pids.get(part)
        proc = _process(pid, part)
        uptime = now - proc.create_time() if proc else None
        name = _name(proc, part)
        if proc is None:
            state = f"down: {'no process' if pid is None else f'pid {pid} has ended'}"
        elif part == "supervisor":
            state = "ok"
        elif part == "api":
            state = "ok" if ready is not None else f"down: {why_not}"
        else:
            state = _said(ready, why_not, part)
        if part == "worker" and proc is not None and state == "ok" and (
                heartbeat is None or now - heartbeat < proc.create_time()):
            state = "starting: no heartbeat since it started"
        worker = part == "worker"
        parts.append(Part(part, name, pid, round(uptime, 1) if uptime is not None else None,
                          round(heartbeat, 1) if worker and heartbeat is not None else None,
                          queue if worker else None, due if worker else None, state,
                          priority if worker and proc is not None else None))
        if part == "api" and proc is not None:
            parts.extend(_api_processes(proc, now))
    return parts


def _api_processes(api: psutil.Process, now: float) -> list[Part]:
    """The API processes the API forked (with SANDBOX_API_WORKERS above 1), by their place."""
    import psutil

    found = []
    for child in api.children():
        with contextlib.suppress(psutil.Error):
            if child.status() != psutil.STATUS_ZOMBIE and part_of(_cmdline(child)) == "api":
                found.append(Part("api", _name(child, "api"), child.pid, round(now - child.create_time(), 1),
                                  None, None, None, "ok"))
    return sorted(found, key=lambda p: p.name)


def _process(pid: int | None, part: str) -> psutil.Process | None:
    """The live process `pid` when it is still `part` (its title says so; a server, its
    name), else None: ended, or the pid has since gone to another process. A part `up`
    has just started again shows its command line (`… sandbox.cli worker`) until it sets
    its title, a few milliseconds in."""
    import psutil

    if pid is None:
        return None
    with contextlib.suppress(psutil.Error):  # ended, or not this user's to read
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
        if part in SERVERS:
            return proc if proc.name().startswith(SERVERS[part]) else None
        cmdline = _cmdline(proc)
        return proc if part_of(cmdline) == part or cmdline.endswith(f"sandbox.cli {part}") else None
    return None


def _name(proc: psutil.Process | None, part: str) -> str:
    import psutil

    if proc is None or part in SERVERS:
        return part
    with contextlib.suppress(psutil.Error):
        cmdline = _cmdline(proc)
        if part_of(cmdline) is not None:
            return cmdline[len(PREFIX):]
    return part


def _cmdline(proc: psutil.Process) -> str:
    return " ".join(proc.cmdline()).strip()  # a title is padded to the room the command line had


def _ready(api_url: str) -> tuple[dict[str, str] | None, str]:
    """/ready's body (200 or 503 alike), or None and why it did not answer."""
    url = f"{api_url}/api/v1/ready"
    try:
        with urllib.request.urlopen(url, timeout=ASK_TIMEOUT_S) as answer:
            return json.loads(answer.read()), ""
    except urllib.error.HTTPError as exc:
        if exc.code == 503:
            return json.loads(exc.read()), ""
        return None, f"{url} answered {exc.code}"
    except (OSError, ValueError) as exc:
        return None, f"{url} does not answer ({type(exc).__name__})"


def _said(ready: dict[str, str] | None, why_not: str, part: str) -> str:
    if ready is None:
        return f"unknown: {why_not}"
    return ready.get(part) or f"unknown: /ready does not name {part}"


def _queue(redis_url: str | None) -> tuple[float | None, int | None, int | None, str | None]:
    """When the worker's heartbeat was written (seconds ago), the jobs in arq's queue, how
    many are due, and why its server processes run above its niceness; None where Redis
    does not say."""
    if not redis_url:
        return None, None, None, None
    import redis
    from arq.constants import default_queue_name

    from sandbox.health.heartbeat import HEALTH_KEY, PRIORITY_KEY, ttl_s

    client = redis.Redis.from_url(redis_url, socket_timeout=ASK_TIMEOUT_S, socket_connect_timeout=ASK_TIMEOUT_S)
    try:
        pipe = client.pipeline(transaction=False)
        pipe.pttl(HEALTH_KEY)
        pipe.zcard(default_queue_name)
        pipe.zcount(default_queue_name, "-inf", int(time.time() * 1000))
        pipe.get(PRIORITY_KEY)
        left_ms, queued, due, priority = pipe.execute()
    except redis.RedisError:
        return None, None, None, None
    finally:
        client.close()
    heartbeat = ttl_s() - left_ms / 1000 if left_ms >= 0 else None  # -2: no key
    return heartbeat, queued, due, priority.decode() if priority else None


def render(parts: list[Part]) -> str:
    rows = [("part", "pid", "uptime", "heartbeat", "queue", "ready")]
    for p in parts:
        rows.append(((f"  {p.name}" if " process " in p.name else p.name),
                     str(p.pid) if p.pid is not None else "-",
                     _duration(p.uptime_s) if p.uptime_s is not None else "-",
                     f"{p.heartbeat_s_ago:.1f}s ago" if p.heartbeat_s_ago is not None else "-",
                     f"{p.queue} ({p.queue_due} due)" if p.queue is not None else "-",
                     p.ready))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)) + "  " + row[-1]
                     for row in rows)


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
