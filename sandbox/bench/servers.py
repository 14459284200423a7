"""PostgreSQL and Redis for a benchmark run in this process: the external servers when
SANDBOX_DATABASE_URL and SANDBOX_REDIS_URL are set, else embedded ones in a temporary data
dir, stopped and removed afterwards."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def bench_servers() -> Iterator[tuple[str, str]]:
    """(database_url, redis_url) for the length of the block."""
    from sandbox.settings import get_settings

    settings = get_settings()
    if settings.database_url and settings.redis_url:
        yield settings.database_url, settings.redis_url
        return
    from sandbox.embedded import EmbeddedPostgres, EmbeddedRedis

    data_dir = Path(tempfile.mkdtemp(prefix="sandbox-bench-"))
    pg, rd = EmbeddedPostgres(data_dir), EmbeddedRedis(data_dir)
    try:
        yield pg.start(), rd.start()
    finally:
        rd.stop()
        pg.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
