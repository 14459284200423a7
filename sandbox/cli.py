"""The `sandbox` command: `up` runs the whole sandbox on one machine; `api`, `worker`
and `ipn` run one process against the servers named by SANDBOX_DATABASE_URL and
SANDBOX_REDIS_URL; `migrate`, `seed` and `openapi` are the one-off steps.

Heavy imports live inside the commands so `sandbox --help` stays quick."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import os
import shutil
import socket
import sys
import time
from pathlib import Path

from sandbox.serving import serve
from sandbox.settings import Settings, get_settings

# (name, argv) of every process `sandbox up` runs.
CHILDREN: list[tuple[str, list[str]]] = [
    ("api", [sys.executable, "-m", "sandbox.cli", "api"]),
    ("ipn", [sys.executable, "-m", "sandbox.cli", "ipn"]),
    ("worker", [sys.executable, "-m", "sandbox.cli", "worker"]),
]
READY_TIMEOUT = 60.0  # seconds for the API to answer /ready
STOP_TIMEOUT = 10.0  # seconds a child gets between SIGTERM and SIGKILL
ADMIN_KEY_FILE = "admin-key"
LOCK_FILE = ".lock"


def _say(*lines: str) -> None:
    print(*lines, sep="\n", flush=True)


def _fail(message: str, code: int = 1) -> int:
    print(f"sandbox: {message}", file=sys.stderr, flush=True)
    return code


# --- sandbox up -------------------------------------------------------------------


def _lock_data_dir(data_dir: Path):
    """One `up` per data dir: a second one would share (and then stop) the first's servers."""
    data_dir.mkdir(parents=True, exist_ok=True)
    handle = open(data_dir / LOCK_FILE, "a+")  # noqa: SIM115 (held until the process exits)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def _busy_ports(settings: Settings) -> list[str]:
    """The API and IPN ports something already listens on (another `sandbox up` with the
    default ports, say), each with the variable that moves it. Checked before anything
    starts: `up` knows its API is ready when that port answers /ready, so a port taken
    by another sandbox would pass for our own API, keys and all."""
    busy = []
    for variable, port in (("SANDBOX_API_PORT", settings.api_port), ("SANDBOX_IPN_PORT", settings.ipn_port)):
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: TIME_WAIT is no obstacle
            try:
                probe.bind((settings.api_host, port))
            except OSError:
                busy.append(f"port {port} ({variable})")
    return busy


def _wipe_data_dir(data_dir: Path) -> None:
    """--fresh: stop the servers an earlier run left here, then delete all but the lock."""
    from sandbox.embedded import EmbeddedPostgres, EmbeddedRedis

    EmbeddedRedis(data_dir).stop()
    EmbeddedPostgres(data_dir).stop()
    for entry in data_dir.iterdir():
        if entry.name == LOCK_FILE:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def _write_secret(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text + "\n")
    os.replace(tmp, path)


async def _prepare(database_url: str, given_admin_key: str | None, saved_admin_key: str | None):
    """Migrate and seed. Returns the seed report and whether the admin key an earlier
    run saved still opens this database (seed shows a key only when it made or got one)."""
    from sandbox import db
    from sandbox.core import auth
    from sandbox.core.errors import Unauthenticated
    from seeds.seed import seed

    db.configure(database_url)
    await db.start(1, 2)
    try:
        await db.migrate()
        report = await seed(given_admin_key)
        saved_works = False
        if report.admin_key is None and saved_admin_key:
            with contextlib.suppress(Unauthenticated):
                saved_works = (await auth.authenticate(saved_admin_key)).role == "admin"
        return report, saved_works
    finally:
        await db.stop()


def _admin_key(key_file: Path, database_url: str, given: str | None):
    """Migrate, seed, and find the admin key to show: the one seed made or was given
    (saved to `key_file`, mode 0600), else the one saved there by an earlier run."""
    try:
        saved = key_file.read_text().strip() or None
    except OSError:
        saved = None
    report, saved_works = asyncio.run(_prepare(database_url, given, saved))
    if report.admin_key:
        _write_secret(key_file, report.admin_key)
        return report, report.admin_key
    return report, saved if saved_works else None


def _local_url(settings: Settings, port: int) -> str:
    host = "127.0.0.1" if settings.api_host in ("0.0.0.0", "::") else settings.api_host
    return f"http://{host}:{port}"


def _banner(settings: Settings, report, admin_key: str | None, key_file: Path, embedded: list[str]) -> None:
    base = _local_url(settings, settings.api_port)
    lines = [
        "",
        "MyPay Sandbox",
        f"  API        {base}/api/v1",
        f"  Docs       {base}/schema",
        f"  Dashboard  {base}/dashboard  (sign in with a key below)",
        f"  IPN        {_local_url(settings, settings.ipn_port)}/ipn/rail",
        f"  Worker     1 process, time scale {settings.time_scale:g}",
        f"  Embedded   {', '.join(embedded) or 'none'}  (data in {settings.data_dir.resolve()})",
        "  Demo merchant keys (X-API-KEY)",
        *(f"    {key}  {name} ({mid})" for mid, name, key in report.merchants),
    ]
    if admin_key:
        lines.append(f"  Admin key  {admin_key}  (saved in {key_file})")
    else:
        lines.append("  Admin key  made by an earlier run and not saved here; set SANDBOX_ADMIN_KEY to add one")
    _say(*lines, "")


def _start_servers(settings: Settings, servers: list) -> tuple[str, str]:
    """The given URLs, or embedded servers (appended to `servers` as they start).
    PostgreSQL starts in a thread while Redis starts and the seed code is imported."""
    from concurrent.futures import ThreadPoolExecutor

    from sandbox.embedded import EmbeddedPostgres, EmbeddedRedis

    database_url, redis_url = settings.database_url, settings.redis_url
    # Leaving the block waits for the thread, even on Shutdown: then the caller stops it.
    with ThreadPoolExecutor(max_workers=1) as thread:
        if not database_url:
            servers.append(pg := EmbeddedPostgres(settings.data_dir))
            pg_dsn = thread.submit(pg.start)
        if not redis_url:
            servers.append(rd := EmbeddedRedis(settings.data_dir))
            # From the main thread: PDEATHSIG fires when the thread that forked it ends.
            redis_url = rd.start()
        import seeds.seed  # noqa: F401  (the slow imports of the next step, meanwhile)
        if not database_url:
            database_url = pg_dsn.result()
    return database_url, redis_url


def cmd_up(args: argparse.Namespace) -> int:
    from sandbox.runner import ChildExited, GaveUp, Shutdown, Supervisor, stop_signals_raise

    started = time.monotonic()
    settings = get_settings()
    data_dir = settings.data_dir
    lock = _lock_data_dir(data_dir)
    if lock is None:
        return _fail(f"another `sandbox up` is running on {data_dir.resolve()}")
    if busy := _busy_ports(settings):
        lock.close()
        return _fail(f"{' and '.join(busy)} already in use on {settings.api_host}; "
                     "set the variable to a free port")
    servers = []  # embedded servers, stopped in reverse order
    supervisor = Supervisor(os.environ)
    try:
        with stop_signals_raise():
            if args.fresh:
                _wipe_data_dir(data_dir)
                kept = " (servers given by URL keep their data)" if settings.database_url or settings.redis_url else ""
                _say(f"--fresh: wiped {data_dir.resolve()}{kept}")
            database_url, redis_url = _start_servers(settings, servers)
            t_servers = time.monotonic()
            key_file = data_dir.resolve() / ADMIN_KEY_FILE
            report, admin_key = _admin_key(key_file, database_url, settings.admin_key)
            t_seeded = time.monotonic()
            embedded = [n for n, s in (("PostgreSQL", settings.database_url), ("Redis", settings.redis_url)) if not s]
            _banner(settings, report, admin_key, key_file, embedded)

            supervisor.env.update(SANDBOX_DATABASE_URL=database_url, SANDBOX_REDIS_URL=redis_url)
            if settings.log_format is None and sys.stderr.isatty():
                # Someone is reading this terminal: one readable line per request and job.
                # Piped or collected (CI, docker), the children log JSON.
                supervisor.env["SANDBOX_LOG_FORMAT"] = "text"
            for name, argv in CHILDREN:
                supervisor.start(name, argv)
            supervisor.wait_ready(f"{_local_url(settings, settings.api_port)}/api/v1/ready", READY_TIMEOUT)
            supervisor.wait_ready(f"{_local_url(settings, settings.ipn_port)}/health", READY_TIMEOUT)
            now = time.monotonic()
            _say(f"ready in {now - started:.2f}s (servers {t_servers - started:.2f}s, migrate and seed "
                 f"{t_seeded - t_servers:.2f}s, processes {now - t_seeded:.2f}s); Ctrl-C stops everything")
            for server in servers:
                supervisor.watch_server(server.NAME, server)
            supervisor.watch()  # restarts what dies, until a stop signal or it gives up
    except Shutdown as stop:
        _say(f"{stop}: stopping")
        return 0
    except (ChildExited, GaveUp) as exc:
        return _fail(f"{exc}; stopping everything")
    except TimeoutError as exc:
        return _fail(f"{exc}; stopping everything")
    finally:
        stopping = time.monotonic()
        supervisor.stop(STOP_TIMEOUT)
        for server in reversed(servers):
            server.stop()
        lock.close()
        _say(f"stopped in {time.monotonic() - stopping:.2f}s")


# --- one process or one step against external servers ------------------------------


def cmd_api(args: argparse.Namespace) -> int:
    settings = get_settings()
    return serve("sandbox.app:create_app", settings.api_port, settings.api_workers)


def cmd_ipn(args: argparse.Namespace) -> int:
    return serve("ipn.app:create_app", get_settings().ipn_port)


def cmd_worker(args: argparse.Namespace) -> int:
    from worker.main import check, run

    if args.check:
        return check()
    run()
    return 0


def _database_url() -> str:
    url = get_settings().database_url
    if not url:
        raise SystemExit(_fail("SANDBOX_DATABASE_URL is not set (`sandbox up` runs an embedded server)", 2))
    return url


async def _with_db(database_url: str, step):
    from sandbox import db

    db.configure(database_url)
    await db.start(1, 2)
    try:
        return await step()
    finally:
        await db.stop()


def cmd_migrate(args: argparse.Namespace) -> int:
    from sandbox import db

    asyncio.run(_with_db(_database_url(), db.migrate))
    _say("migrations applied")
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    from seeds.seed import seed

    report = asyncio.run(_with_db(_database_url(), lambda: seed(get_settings().admin_key)))
    for merchant_id, name, key in report.merchants:
        _say(f"merchant  {merchant_id}  {name}  {key}")
    _say(f"admin key {report.admin_key or '(exists already; not shown)'}")
    return 0


def cmd_openapi(args: argparse.Namespace) -> int:
    from sandbox import openapi_export

    if args.output == "-":
        sys.stdout.write(openapi_export.render())
    else:
        _say(f"wrote {openapi_export.write(Path(args.output or openapi_export.SPEC_PATH))}")
    return 0


def cmd_make_batch(args: argparse.Namespace) -> int:
    from sandbox.batches import sample

    per_scenario = sample.write(Path(args.out), args.rows)
    _say(f"wrote {args.rows} payouts to {args.out}: " + ", ".join(f"{k} {v}" for k, v in per_scenario.items()))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from sandbox.bench.run import main as bench_main

    return bench_main(args)


def _quiet_http() -> None:
    """The HTTP commands print what matters; httpx's line per request would bury it."""
    import logging

    logging.getLogger("httpx").setLevel(logging.WARNING)


def cmd_coverage(args: argparse.Namespace) -> int:
    import httpx

    from sandbox.coverage.report import render
    from sandbox.testing.client import api_client

    _quiet_http()
    try:
        with api_client(args.url, args.key) as client:
            r = client.get("/sandbox/coverage")
    except httpx.HTTPError as exc:
        return _fail(f"cannot reach {args.url}: {exc}")
    if r.status_code != 200:
        return _fail(f"GET /sandbox/coverage answered {r.status_code}: {r.text}")
    sys.stdout.write(render(r.json()))
    return 0


def cmd_trigger(args: argparse.Namespace) -> int:
    from sandbox.testing import trigger
    from seeds.seed import DEMO_MERCHANTS

    if not args.list and not args.scenario:
        return _fail("name a scenario, or --list them", 2)
    key = args.key or DEMO_MERCHANTS[0][2]
    _quiet_http()
    return trigger.main(args.url, key, None if args.list else args.scenario, args.amount, args.timeout)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sandbox", description="MyPay Sandbox, a mock payout PSP.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    up = sub.add_parser("up", help="run everything here (embedded PostgreSQL/Redis unless URLs are set)")
    up.add_argument("--fresh", action="store_true", help="delete the data dir first (stopping its servers)")
    up.set_defaults(func=cmd_up)
    sub.add_parser("api", help="run the API (uvicorn) on SANDBOX_API_PORT").set_defaults(func=cmd_api)
    worker = sub.add_parser("worker", help="run one arq worker (payout steps, rail callbacks, sweeper)")
    worker.add_argument("--check", action="store_true",
                        help="exit 0 if a worker reported healthy recently (arq's health check), else 1")
    worker.set_defaults(func=cmd_worker)
    sub.add_parser("ipn", help="run the IPN service on SANDBOX_IPN_PORT").set_defaults(func=cmd_ipn)
    sub.add_parser("migrate", help="apply migrations to SANDBOX_DATABASE_URL").set_defaults(func=cmd_migrate)
    sub.add_parser("seed", help="seed SANDBOX_DATABASE_URL (idempotent)").set_defaults(func=cmd_seed)
    spec = sub.add_parser("openapi", help="write the OpenAPI spec as JSON")
    spec.add_argument("--output", "-o", help="file, or - for stdout (default: the repo's openapi/openapi.json)")
    spec.set_defaults(func=cmd_openapi)
    batch = sub.add_parser("make-batch", help="write a payout batch CSV that mixes every scenario")
    batch.add_argument("--rows", type=int, default=1000, help="payouts in the file (default 1000)")
    batch.add_argument("--out", required=True, help="the CSV file to write")
    batch.set_defaults(func=cmd_make_batch)
    default_url = _local_url(get_settings(), get_settings().api_port)
    coverage = sub.add_parser("coverage", help="print what a merchant's integration has been tested against")
    coverage.add_argument("--key", required=True, help="the merchant's API key")
    coverage.add_argument("--url", default=default_url, help=f"the sandbox (default {default_url})")
    coverage.set_defaults(func=cmd_coverage)
    trigger = sub.add_parser("trigger", help="make a payout follow a scenario and print each transition and webhook")
    trigger.add_argument("scenario", nargs="?", help="a scenario name (see --list)")
    trigger.add_argument("--list", action="store_true", help="print the scenarios and exit")
    trigger.add_argument("--key", help="a merchant's API key (default: the seeded Demo Merchant Alpha's)")
    trigger.add_argument("--url", default=default_url, help=f"the sandbox (default {default_url})")
    trigger.add_argument("--amount", default="1500.00", help="PKR (default 1500.00; 100000.00 or more waits in_review)")
    trigger.add_argument("--timeout", type=float, default=120.0, help="seconds to follow it (default 120)")
    trigger.set_defaults(func=cmd_trigger)
    bench = sub.add_parser(
        "bench", help="start the stack on a fresh data dir, drive it with wrk and pgbench, print figures")
    # Options are added by sandbox.bench.run.add_arguments, next to the code that reads them.
    from sandbox.bench.run import add_arguments as add_bench_arguments

    add_bench_arguments(bench)
    bench.set_defaults(func=cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    import logging

    args = build_parser().parse_args(argv)
    logging.basicConfig(level=get_settings().log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    # Piccolo logs a guessed server version at INFO before it has connected anywhere.
    logging.getLogger("piccolo").setLevel(logging.WARNING)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
