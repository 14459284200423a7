"""Several `sandbox migrate` started at once on a database never migrated (replicas or
Jobs of one release on Kubernetes): one applies the migrations under PostgreSQL's advisory
lock, the others wait for it and find nothing left; every one exits 0. Seeds started at
once end with one admin key and each demo merchant once (they take the same lock; without it
this test still passed in one try: the seeds' imports stagger them past the race's window, so
it shows the outcome, not that the lock is needed). `sandbox migrate
--wait` (the Deployments' init step) applies nothing: it fails after its deadline on a
database not migrated, and passes once it is."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from urllib.parse import urlsplit

import asyncpg

from sandbox.settings import LOG_COPY_VARIABLE
from tests.process.conftest import REPO

ADMIN_KEY = "sk_admin_" + secrets.token_hex(24)


def sandbox(database_url: str, *args: str) -> subprocess.Popen:
    env = {"PATH": "/usr/bin:/bin", "SANDBOX_DATABASE_URL": database_url, "SANDBOX_LOG_LEVEL": "WARNING",
           "SANDBOX_ADMIN_KEY": ADMIN_KEY, LOG_COPY_VARIABLE: os.environ.get(LOG_COPY_VARIABLE, "")}
    return subprocess.Popen([sys.executable, "-m", "sandbox.cli", *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


async def test_migrations_and_seeds_started_at_once_all_succeed_and_wait_sees_them(stack):
    database = f"migrate_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(stack.database_url)
    await admin.execute(f'CREATE DATABASE "{database}"')
    url = urlsplit(stack.database_url)._replace(path="/" + database).geturl()
    try:
        early = sandbox(url, "migrate", "--wait", "0").communicate(timeout=120)
        assert "migrations not yet run" in early[1], early

        waiting = sandbox(url, "migrate", "--wait", "120")
        migrators = [sandbox(url, "migrate") for _ in range(3)]
        for proc in migrators:
            out, err = proc.communicate(timeout=180)
            assert proc.returncode == 0, err
            assert "migrations applied" in out + err
        out, err = waiting.communicate(timeout=180)
        assert waiting.returncode == 0, err
        assert "holds every one of this release" in out + err

        seeders = [sandbox(url, "seed") for _ in range(3)]
        for proc in seeders:
            out, err = proc.communicate(timeout=180)
            assert proc.returncode == 0, err

        conn = await asyncpg.connect(url)
        try:
            ran = await conn.fetchval("SELECT count(*) FROM migration WHERE app_name = 'sandbox'")
            distinct = await conn.fetchval("SELECT count(DISTINCT name) FROM migration WHERE app_name = 'sandbox'")
            admin_keys = await conn.fetchval("SELECT count(*) FROM api_key WHERE role = 'admin'")
            merchants = await conn.fetchval("SELECT count(*) FROM merchant")
        finally:
            await conn.close()
        assert ran == distinct > 0, "a migration was recorded twice"
        assert (admin_keys, merchants) == (1, 2)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()
