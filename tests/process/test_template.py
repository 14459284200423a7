"""The start-up template (sandbox/runtime/template.py): made once, safely when two `sandbox up`s
fill an empty cache at once, and copied into a data dir as a cluster of its own that
holds the seed but no admin key, and a write-ahead log of one small segment."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import pytest

from sandbox.runtime import template
from sandbox.runtime.embedded import SERVER_SETTINGS, EmbeddedPostgres
from sandbox.runtime.pg_start import START_TIMEOUT_S
from seeds.seed import DEMO_MERCHANTS
from tests.process.conftest import Up, wait_until

MAKE = ("import sys; from pathlib import Path; from sandbox.runtime import template; "
        "print(template.ensure(Path(sys.argv[1])))")


def test_two_processes_filling_an_empty_cache_agree_on_one_complete_template(scratch: Path):
    cache = scratch / "cache"
    makers = [subprocess.Popen([sys.executable, "-c", MAKE, str(cache)], stdout=subprocess.PIPE, text=True)
              for _ in range(2)]
    made = [m.communicate(timeout=120)[0].strip() for m in makers]
    assert [m.returncode for m in makers] == [0, 0]
    assert made[0] == made[1] == str(cache / "templates" / template.key())
    # Nothing half-made is left behind, and nothing that belonged to the run that made it.
    assert sorted(p.name for p in (cache / "templates").iterdir()) == [template.key()]
    pgdata = Path(made[0]) / "postgres"
    assert (pgdata / "PG_VERSION").exists() and not (pgdata / "postmaster.pid").exists()


def _make_in_a_process_of_its_own(cache: Path) -> Path:
    # Not in this process: making it opens the process-wide database pool (sandbox.db),
    # which the suite's in-process API shares.
    out = subprocess.run([sys.executable, "-c", MAKE, str(cache)], capture_output=True, text=True, timeout=120,
                         check=False)
    # What went wrong, in the failure itself (a CalledProcessError would show only the exit code).
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return Path(out.stdout.strip().splitlines()[-1])


def test_a_copy_is_a_cluster_of_its_own_with_the_seed_and_no_admin_key(scratch: Path):
    made = _make_in_a_process_of_its_own(scratch / "cache")
    pg = EmbeddedPostgres(scratch / "data")
    template.copy_into(made, pg.pgdata)
    dsn = pg.start()
    try:
        async def read() -> tuple[list[str], int, dict[str, str], str, list[str]]:
            conn = await asyncpg.connect(dsn)
            try:
                # A database made by a user of the embedded server still comes from template1.
                await conn.execute('CREATE DATABASE "made_later"')
                databases = [r["datname"] for r in await conn.fetch("SELECT datname FROM pg_database ORDER BY 1")]
                merchants = [r["id"] for r in await conn.fetch("SELECT id FROM merchant ORDER BY id")]
                admins = await conn.fetchval("SELECT count(*) FROM api_key WHERE role = 'admin'")
                settings = {name: await conn.fetchval("SELECT current_setting($1)", name) for name in SERVER_SETTINGS}
                return merchants, admins, settings, await conn.fetchval("SHOW wal_segment_size"), databases
            finally:
                await conn.close()

        merchants, admins, settings, segment, databases = asyncio.run(read())
        # initdb's `postgres` and `template0` are not copied into every data dir: a fresh
        # start (and the image's, into a new volume) makes 600 fewer files.
        assert databases == ["made_later", "sandbox", "template1"]
        assert len(list((made / "postgres" / "base").iterdir())) == 2
        # The server is sized for the sandbox (shared buffers, checkpoints, autovacuum), and
        # the template carries it: a copy starts once, with no restart to apply them.
        assert settings == SERVER_SETTINGS
        assert "shared_buffers = '1GB'" in (made / "postgres" / "postgresql.auto.conf").read_text()
        assert merchants == sorted(m[0] for m in DEMO_MERCHANTS)
        # Its write-ahead log is one small segment (what every copy and the image carry),
        # not PostgreSQL's 16 MB, and a cluster runs on it.
        assert segment == f"{template.WAL_SEGMENT_MB}MB"
        wal = sum(f.stat().st_size for f in (made / "postgres" / "pg_wal").rglob("*") if f.is_file())
        assert wal <= 2 * 2**20, f"the template's pg_wal holds {wal} bytes"
        assert admins == 0  # each data dir's admin key is its own, made or given at its first start
        assert not (made / "postgres" / "postmaster.pid").exists()  # the server runs on the copy only
    finally:
        pg.stop()


def test_a_spare_copy_is_taken_whole_by_one_fresh_start_and_by_no_other(scratch: Path):
    made = _make_in_a_process_of_its_own(scratch / "cache")
    (scratch / "data").mkdir()
    spare = template.Spare(made, scratch / "data")
    spare.start()
    spare.finish(timeout=60)
    spare.start()  # one is there: no second
    spare.finish(timeout=60)
    assert len(list((made / template.SPARES).iterdir())) == 1
    first, second = EmbeddedPostgres(scratch / "data" / "a"), EmbeddedPostgres(scratch / "data" / "b")
    assert template.take_spare(made, first.pgdata)
    assert not template.take_spare(made, second.pgdata)  # taken: the next start copies
    assert not second.pgdata.exists() and list((made / template.SPARES).iterdir()) == []
    dsn = first.start()
    try:
        async def merchants() -> list[str]:
            conn = await asyncpg.connect(dsn)
            try:
                return [r["id"] for r in await conn.fetch("SELECT id FROM merchant ORDER BY id")]
            finally:
                await conn.close()

        assert asyncio.run(merchants()) == sorted(m[0] for m in DEMO_MERCHANTS)
    finally:
        first.stop()
    assert (made / "postgres" / "PG_VERSION").exists()  # the template itself is untouched


def test_what_killed_makers_and_other_versions_left_goes_once_stale(scratch: Path):
    templates = scratch / "cache" / "templates"
    old = time.time() - template.STALE_S - 60
    left = {  # folder: made how long ago
        "0123456789abcdef0123": old,  # another version's template
        f"{template.MAKING}dead": old,  # a template's maker killed a day ago
        f"{template.MAKING}busy": time.time(),  # one making it now
    }
    for name, at in left.items():
        (templates / name).mkdir(parents=True)
        os.utime(templates / name, (at, at))
    made = _make_in_a_process_of_its_own(scratch / "cache")  # made, then the cache pruned
    assert sorted(p.name for p in templates.iterdir()) == sorted([made.name, f"{template.MAKING}busy"])
    spares = made / template.SPARES
    spares.mkdir()
    for name, at in ((f"{template.MAKING}dead", time.time() - template.SPARE_MAKER_STALE_S - 60),
                     (f"{template.MAKING}busy", time.time())):
        (spares / name).mkdir()
        os.utime(spares / name, (at, at))
    (scratch / "data").mkdir()
    spare = template.Spare(made, scratch / "data")
    spare.start()  # prunes the spares' folder first
    spare.finish(timeout=60)
    names = {p.name for p in spares.iterdir()}
    assert f"{template.MAKING}busy" in names and f"{template.MAKING}dead" not in names


def test_no_spare_is_made_for_a_data_dir_on_another_file_system(scratch: Path):
    made = _make_in_a_process_of_its_own(scratch / "cache")
    with tempfile.TemporaryDirectory(dir="/dev/shm") as elsewhere:  # tmpfs: another file system
        spare = template.Spare(made, Path(elsewhere))
        spare.start()
        spare.finish(timeout=60)
        assert list((made / template.SPARES).iterdir()) == []


def test_a_cluster_that_cannot_start_says_why_at_once(scratch: Path):
    made = _make_in_a_process_of_its_own(scratch / "cache")
    pg = EmbeddedPostgres(scratch / "data")
    template.copy_into(made, pg.pgdata)
    with open(pg.pgdata / "postgresql.auto.conf", "a") as conf:
        conf.write("shared_buffers = '900TB'\n")
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="shared_buffers"):
        pg.start()
    # Its log's FATAL line, not pg_ctl's ten seconds.
    assert time.monotonic() - started < START_TIMEOUT_S / 2
    assert not pg.running()


def test_first_starts_at_once_on_an_empty_cache_serve_from_their_own_clusters_and_leave_one_template(scratch: Path):
    """The first start after an install does not make the template before it serves: its
    data dir gets a cluster of its own (initdb there, the processes importing beside it),
    and the template is made after /ready, for the next start, which copies it. Two at once
    on one empty cache are each served, and agree on one template, made while they serve."""
    cache = scratch / "cache"
    firsts = [Up(scratch / name, SANDBOX_CACHE_DIR=str(cache)) for name in ("a", "b")]
    try:
        for up in firsts:
            up.wait_ready()
            assert "initdb here" in up.output(), up.output()
            assert up.http.get("/balance").status_code == 200  # a demo merchant's key: seeded
            # The server's settings were its one start's (no restart to apply them).
            assert "shared_buffers = '1GB'" in (up.data_dir / "postgres" / "postgresql.auto.conf").read_text()
        # Made in the background while they serve (a stop waits for it only a few seconds).
        wait_until(lambda: template.find(cache) is not None, timeout=180, what="the template made after /ready")
        for up in firsts:
            up.signal(signal.SIGTERM)
        assert [up.wait_exit() for up in firsts] == [0, 0], [up.output() for up in firsts]
    finally:
        for up in firsts:
            up.close()
    made = template.find(cache)
    assert made is not None, [up.output() for up in firsts]
    # One template, nothing half-made, and nothing of its maker's run or server.
    assert sorted(p.name for p in (cache / "templates").iterdir()) == [made.name]
    assert not (made / "postgres" / "postmaster.pid").exists()
    assert "fsync" not in (made / "postgres" / "postgresql.auto.conf").read_text()  # its maker's alone
    later = Up(scratch / "c", SANDBOX_CACHE_DIR=str(cache))
    try:
        later.wait_ready()
        assert "initdb here" not in later.output() and "(copied " in later.output(), later.output()
        assert later.http.get("/balance").status_code == 200
    finally:
        later.close()
