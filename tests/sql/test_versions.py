"""The database's functions are the newest files of sandbox/sql/, and nothing else.

A function is compared as PostgreSQL shows it (`pg_get_functiondef`: signature, result,
language, body), with whitespace runs made one space: the released migrations wrote
bodies indented inside Python strings, the files write them flush left."""

from __future__ import annotations

import re
import secrets
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

from sandbox.sql import versions

REPO = Path(__file__).resolve().parents[2]
# The migrations as released before the functions moved into sandbox/sql/.
RELEASED = "b2c02f6"

_FUNCTIONS_SQL = """
SELECT p.proname AS name, pg_get_functiondef(p.oid) AS definition
  FROM pg_proc p
 WHERE p.pronamespace = $1::text::regnamespace
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
"""
_TRIGGERS_SQL = """
SELECT t.tgrelid::regclass::text || '.' || t.tgname AS name, pg_get_triggerdef(t.oid) AS definition
  FROM pg_trigger t WHERE NOT t.tgisinternal
"""


async def _triggers(conn: asyncpg.Connection) -> list[tuple[str, str]]:
    return sorted(tuple(r) for r in await conn.fetch(_TRIGGERS_SQL))


def _normal(definition: str) -> str:
    definition = re.sub(r"FUNCTION \w+\.", "FUNCTION ", definition, count=1)  # the schema
    return " ".join(definition.split())


async def _functions(conn: asyncpg.Connection, schema: str = "public") -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for r in await conn.fetch(_FUNCTIONS_SQL, schema):
        found.setdefault(r["name"], []).append(_normal(r["definition"]))
    return found


async def _newest_files(conn: asyncpg.Connection) -> dict[str, list[str]]:
    """Each function's highest-numbered file, as PostgreSQL shows it once created (in a
    schema of its own, rolled back)."""
    schema = f"sql_files_{secrets.token_hex(4)}"
    tx = conn.transaction()
    await tx.start()
    try:
        await conn.execute(f"CREATE SCHEMA {schema}; SET LOCAL search_path = {schema}, public")
        for name in versions.names():
            await conn.execute(versions.text(name, versions.versions(name)[-1]))
        return await _functions(conn, schema)
    finally:
        await tx.rollback()


def _differences(in_database: dict[str, list[str]], in_files: dict[str, list[str]]) -> list[str]:
    return [
        *(f"{name}: in the database, no file in sandbox/sql/" for name in sorted(in_database.keys() - in_files)),
        *(f"{name}: has files, not in the database (a migration does not load it)"
          for name in sorted(in_files.keys() - in_database)),
        *(f"{name}: not its newest file v{versions.versions(name)[-1]:02d} (a migration does not load it, or a"
          " file was changed after its release)"
          for name in sorted(in_files.keys() & in_database) if in_files[name] != in_database[name]),
    ]


async def test_every_function_is_its_newest_file(stack):
    conn = await asyncpg.connect(stack.database_url)
    try:
        differences = _differences(await _functions(conn), await _newest_files(conn))
        assert not differences, "\n".join(differences)
    finally:
        await conn.close()


def test_every_function_has_contiguous_versions_from_one():
    for name in versions.names():
        assert versions.versions(name) == list(range(1, len(versions.versions(name)) + 1)), name


def _git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(REPO), *args], check=True, capture_output=True, text=True).stdout


def _released_migrations(folder: Path) -> None:
    """The migrations module texts as released at RELEASED, in `folder` (imported by
    their bare names, as Piccolo imports a migrations folder)."""
    try:
        names = _git("ls-tree", "--name-only", f"{RELEASED}:sandbox/migrations").split()
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"needs the repository's history (commit {RELEASED}): {exc}")
    folder.mkdir()
    for name in names:
        text = _git("show", f"{RELEASED}:sandbox/migrations/{name}")
        (folder / name).write_text(text.replace("from sandbox.migrations.", "from "))


# Runs in a process of its own: Piccolo imports migration modules by their bare names,
# which the released and today's folders share.
_MIGRATE = """
import asyncio, sys
from sandbox import db
from sandbox.piccolo_app import APP_CONFIG

async def main(url, folder, back_to):
    if folder:
        APP_CONFIG.migrations_folder_path = folder
    async with db.running(url):
        if back_to:
            from piccolo.apps.migrations.commands.backwards import run_backwards
            result = await run_backwards(app_name="sandbox", migration_id=back_to, auto_agree=True)
            assert result.success, result.message
        else:
            await db.migrate()

asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
"""


def _migrate(database_url: str, folder: Path | None = None, *, back_to: str = "") -> None:
    """Forwards to the newest migration, or (`back_to` a migration id) undo every
    migration from that one on."""
    subprocess.run([sys.executable, "-c", _MIGRATE, database_url, str(folder or ""), back_to],
                   check=True, cwd=REPO, timeout=120)


def _first_unreleased_migration(released: Path) -> str:
    """The id of the oldest migration made after RELEASED."""
    names = sorted({p.name for p in (REPO / "sandbox" / "migrations").glob("sandbox_*.py")}
                   - {p.name for p in released.glob("sandbox_*.py")})
    text = (REPO / "sandbox" / "migrations" / names[0]).read_text()
    match = re.search(r'^ID = "([^"]+)"', text, re.M)
    assert match, names[0]
    return match[1]


async def test_a_database_made_by_the_released_migrations_migrates_to_the_newest_functions(stack, tmp_path):
    """Released migrations now load files instead of inline SQL; Piccolo records which
    migrations ran, not their text, so a database they made only runs the new ones, and
    ends with the same functions and triggers as a database made from nothing. Undoing
    the migrations made since gives the functions back as they were released."""
    _released_migrations(tmp_path / "released")
    database = f"released_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(stack.database_url)
    await admin.execute(f'CREATE DATABASE "{database}"')
    url = urlsplit(stack.database_url)._replace(path="/" + database).geturl()
    try:
        _migrate(url, tmp_path / "released")
        conn = await asyncpg.connect(url)
        try:
            released_functions = await _functions(conn)
            assert "payout_create" in released_functions
            _migrate(url)
            differences = _differences(await _functions(conn), await _newest_files(conn))
            assert not differences, "\n".join(differences)
            assert await _triggers(conn) == await _triggers(admin)
            _migrate(url, back_to=_first_unreleased_migration(tmp_path / "released"))
            assert await _functions(conn) == released_functions
        finally:
            await conn.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()
