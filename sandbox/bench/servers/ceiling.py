"""The ceilings `sandbox bench` measures our API against: the thinnest Litestar app that
does the same database work, served by `sandbox.runtime.serving.serve` exactly as the API is, with
the API's pool (`sandbox.db`, the same sizes). No auth, rate limit, idempotency, logging
or metrics: what is left is HTTP, msgspec and the round trips themselves.

    python -m sandbox.bench.servers.ceiling PORT MERCHANT_ID MERCHANTS MODE

- `GET /api/v1/payouts/{id}`: the statement `GET /payouts/{id}` sends (one round trip),
  scoped to MERCHANT_ID.
- `POST /api/v1/payouts`: the body decoded into our `PayoutCreate`, then `payout.pgbench.sql`
  for a random one of the MERCHANTS pgbench merchants, either as pgbench sends it (MODE
  `transaction`: BEGIN, four statements, COMMIT — six round trips) or folded into one
  statement (MODE `statement`: one round trip, the least any POST could cost).
- MODE `limited`: as `statement`, and each GET and POST first counts the request against
  the rate limit exactly as the API does (`RateLimitMiddleware.count`: one Redis round
  trip, the same script and pool). Every API request must make that call, so this is
  the most the API could reach with its rate limit kept shared in Redis.

The ratio of a ceiling to its reference (hello-world, pgbench) is the most the matching
goal could reach with this stack on this machine."""

from __future__ import annotations

import re
import secrets
import sys
from pathlib import Path

from litestar import Litestar, get, post
from litestar.exceptions import NotFoundException

from sandbox import db, redis_client
from sandbox.auth.principal import Principal
from sandbox.core import heap
from sandbox.payouts.model.schemas import PayoutCreate
from sandbox.payouts.store.repository import GET_SQL
from sandbox.ratelimits.limiter import RateLimitMiddleware
from sandbox.settings import get_settings

PGBENCH_SQL = Path(__file__).resolve().parents[1] / "harness" / "payout.pgbench.sql"


def transaction_statements(script: str) -> list[str]:
    """pgbench's transaction as asyncpg statements: `:m` → $1 (merchant number),
    `:p` → $2 (unique payout number); the \\set lines, BEGIN and END dropped."""
    body = script.split("BEGIN;", 1)[1].rsplit("END;", 1)[0]
    body = body.replace(":m::text", "$1::text").replace(":p::text", "$2::text")
    return [s.strip() for s in re.split(r";\s*\n", body) if s.strip()]


def one_statement(statements: list[str]) -> str:
    """The same statements as the CTEs of one statement (PostgreSQL runs every one of
    them, once, in the statement's own implicit transaction: a data-modifying one always,
    a SELECT, calling a function that writes, because the final SELECT reads it). A
    statement that is itself a WITH query gives its CTEs; its final SELECT is dropped."""
    ctes, selects = [], []
    for i, sql in enumerate(statements):
        if sql.upper().startswith("WITH "):
            ctes.append(sql[5:].rsplit("\nSELECT ", 1)[0].strip().rstrip(","))
        else:
            ctes.append(f"s{i} AS ({sql})")
            if sql.upper().startswith("SELECT "):
                selects.append(f"s{i}")
    return "WITH " + ",\n".join(ctes) + "\nSELECT 1" + (" FROM " + ", ".join(selects) if selects else "")


def create_app(merchant_id: str, merchants: int, mode: str) -> Litestar:
    settings = get_settings()
    statements = transaction_statements(PGBENCH_SQL.read_text())
    folded = one_statement(statements)
    limiter = RateLimitMiddleware(settings.rate_limit) if mode == "limited" else None
    principal = Principal(key_id="ceiling", role="merchant", merchant_id=merchant_id)

    async def start() -> None:
        assert settings.database_url and settings.redis_url  # the bench's stack sets both
        db.configure(settings.database_url)
        await db.start(settings.db_pool_min, settings.db_pool_max)
        if limiter is not None:
            await redis_client.start(settings.redis_url)

    async def stop() -> None:
        if limiter is not None:
            await limiter.close()
            await redis_client.stop()
        await db.stop()

    @get("/api/v1/payouts/{payout_id:str}")
    async def read(payout_id: str) -> dict:
        if limiter is not None:
            await limiter.count(principal)
        row = await db.fetchrow(GET_SQL, payout_id, merchant_id)
        if row is None:
            raise NotFoundException()
        return {"id": row["id"], "amount": row["amount"], "status": row["status"]}

    @post("/api/v1/payouts")
    async def create(data: PayoutCreate) -> dict:
        if limiter is not None:
            await limiter.count(principal)
        m, p = str(1 + secrets.randbelow(merchants)), str(secrets.randbits(62))
        if mode in ("statement", "limited"):
            await db.execute(folded, m, p)
        else:
            async with db.transaction():
                for sql in statements:
                    await db.execute(sql, m, p)
        return {"id": f"po_pgbench_{p}", "amount": data.amount}

    return Litestar(route_handlers=[read, create], on_startup=[start], on_shutdown=[stop], debug=False)


def from_argv() -> Litestar:
    # uvicorn imports the factory by name, in each worker process too (which see the same argv).
    _, merchant, count, how = sys.argv[1:5]
    app = create_app(merchant, int(count), how)
    heap.freeze_startup_objects()  # as the API's served app does: the same process set-up
    return app


if __name__ == "__main__":
    from sandbox.runtime.serving import serve

    sys.exit(serve("sandbox.bench.servers.ceiling:from_argv", int(sys.argv[1]), get_settings().api_workers))
