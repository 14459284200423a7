"""A benchmark process's own connections to the servers a run started for it."""

from __future__ import annotations


async def open_fresh(database_url: str, redis_url: str) -> None:
    """This process's database pool and Redis client on a run's own servers: the schema
    migrated, the seed loaded, Redis emptied. Set the run's SANDBOX_* first."""
    from sandbox import db, redis_client
    from seeds.seed import seed

    db.configure(database_url)
    await db.start(2, 20)
    await db.migrate()
    await seed()
    await redis_client.start(redis_url)
    await redis_client.get().flushdb()
