"""Webhook queue tables made fresh in a schema of their own (the public tables' columns and
indexes, no rows, never analyzed, autovacuum off so only the test analyzes them), and a
transaction that sees them in place of the public ones."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator

from sandbox import db

TABLES = ("webhook_endpoint", "outbox_event", "outbox_unrelayed", "webhook_delivery")


@contextlib.asynccontextmanager
async def fresh_schema() -> AsyncIterator[str]:
    schema = f"fresh_{secrets.token_hex(4)}"
    await db.execute(f"CREATE SCHEMA {schema}")
    try:
        async with db.transaction():
            for table in TABLES:
                await db.execute(f"CREATE TABLE {schema}.{table} (LIKE public.{table} INCLUDING ALL)"
                                 " WITH (autovacuum_enabled = false)")
        yield schema
    finally:
        await db.execute(f"DROP SCHEMA {schema} CASCADE")


@contextlib.asynccontextmanager
async def inside(schema: str) -> AsyncIterator[None]:
    async with db.transaction():
        await db.execute(f"SET LOCAL search_path TO {schema}")
        yield
