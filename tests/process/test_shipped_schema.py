"""The shipped schema (sandbox/sql/schema.py): the migrations' result on an empty database,
which a new cluster applies in one step. It must stay what the migrations make: a migration
added without `sandbox template --write-schema` fails here, not in a user's first start
(where the newer migration would still run after it: slower, never wrong)."""

from __future__ import annotations

import asyncio
import difflib
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from sandbox.runtime.embedded import EmbeddedPostgres
from sandbox.sql import schema
from tests.process.conftest import REPO

STALE = "sandbox/sql/schema.sql is not what the migrations make: run `uv run sandbox template --write-schema`"


def _differs(made: str, shipped: str) -> str:
    return "\n".join(list(difflib.unified_diff(shipped.splitlines(), made.splitlines(), "shipped", "made",
                                               lineterm=""))[:60])


def test_the_shipped_schema_is_what_the_migrations_make():
    # In a process of its own: the migrations run through this module's `db` pool, which is
    # the suite's app's too in this process (a run here stopped it under every later test).
    done = subprocess.run([sys.executable, "-c", "import sys; from sandbox.runtime.template import "
                           "schema_made_by_the_migrations as made; sys.stdout.write(made())"],
                          cwd=REPO, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    made, shipped = done.stdout, schema.SCHEMA.read_text()
    assert made == shipped, f"{STALE}\n{_differs(made, shipped)}"


async def _has_schema(dsn: str) -> bool:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval("SELECT to_regclass('public.migration') IS NOT NULL")
    finally:
        await conn.close()


async def _pending(dsn: str) -> list[str]:
    """The migrations of this installation the database has not run (read without the
    `db` pool, which is the suite's app's in this process)."""
    from piccolo.apps.migrations.commands.base import BaseMigrationManager

    manager = BaseMigrationManager()
    ids = manager.get_migration_ids(manager.get_migration_modules(str(REPO / "sandbox" / "migrations")))
    conn = await asyncpg.connect(dsn)
    try:
        ran = {r["name"] for r in await conn.fetch("SELECT name FROM migration WHERE app_name = 'sandbox'")}
    finally:
        await conn.close()
    return sorted(set(ids) - ran)


def test_a_database_made_from_it_reads_back_as_the_script_and_has_no_migration_left(scratch: Path,
                                                                                    monkeypatch):
    pg = EmbeddedPostgres(scratch / "data")
    dsn = pg.start()
    try:
        # A script the server refuses half-way is rolled back whole: the migrations then run.
        refused = scratch / "refused.sql"
        refused.write_text("CREATE TABLE public.migration (id int);\nSELECT no_such_function();\n")
        with monkeypatch.context() as patch:
            patch.setattr(schema, "SCHEMA", refused)
            assert asyncio.run(schema.apply(dsn)) is False
        assert asyncio.run(_has_schema(dsn)) is False

        assert asyncio.run(schema.apply(dsn)) is True
        assert asyncio.run(_pending(dsn)) == []
        assert asyncio.run(schema.apply(dsn)) is False  # a database with a schema is left as it is
        read_back, shipped = schema.dump(dsn), schema.SCHEMA.read_text()
        assert read_back == shipped, _differs(read_back, shipped)
    finally:
        pg.stop()


@pytest.fixture
def scratch():
    from tests.process.conftest import scratch_dir

    with scratch_dir() as path:
        yield path
