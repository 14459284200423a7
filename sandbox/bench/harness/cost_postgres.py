"""The cost bench's PostgreSQL side (sandbox/bench/cost.py): the server set up to count
(pg_stat_statements, a role a counted process, nothing that runs by the clock), what each
counted process has asked of it so far, and whether payouts have settled."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

ROLES = ("cost_api", "cost_worker")  # PostgreSQL roles, one a counted process
WEBHOOKS = 3  # payout.created, payout.processing, payout.success: each delivered to the receiver
DRAIN_TIMEOUT_S = 1800.0  # 200 payouts and their webhooks took more than 600 s at load 36
# Nothing the server does by the clock lands in a window: no autovacuum, and no checkpoint
# but the one forced before a window (a timed one, every 5 minutes by default, made the
# first change of every page after it write the page's full image again: a window that a
# busy machine stretched past it wrote more WAL a payout).
SETTINGS = {
    "shared_preload_libraries": "'pg_stat_statements'",
    "pg_stat_statements.track": "'all'",
    "pg_stat_statements.track_utility": "on",
    "autovacuum": "off",
    "checkpoint_timeout": "'1d'",
    "max_wal_size": "'64GB'",
}


async def prepare(database_url: str) -> None:
    """The settings above (loaded at the restart that follows) and a role a counted process."""
    import asyncpg

    conn = await asyncpg.connect(database_url)
    try:
        for role in ROLES:
            await conn.execute(f"CREATE ROLE {role} SUPERUSER LOGIN")  # names of ours, never input
        for name, value in SETTINGS.items():
            await conn.execute(f"ALTER SYSTEM SET {name} = {value}")  # ours, never input
    finally:
        await conn.close()


def as_role(database_url: str, role: str) -> str:
    return database_url.replace("postgresql://postgres@", f"postgresql://{role}@", 1)


async def create_extension(database_url: str) -> None:
    await _execute(database_url, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    await _execute(database_url, "CREATE EXTENSION IF NOT EXISTS pg_walinspect")


async def checkpoint(database_url: str) -> None:
    """A checkpoint before a window: every page's first change in it writes its full image,
    whatever the last checkpoint's moment was, so the WAL a window writes does not depend on it."""
    await _execute(database_url, "CHECKPOINT")


async def _execute(database_url: str, statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def counts(database_url: str) -> dict:
    """What each counted process has asked of PostgreSQL so far (in all, and by statement),
    and the WAL's position."""
    import asyncpg

    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            """SELECT r.rolname AS role, s.query, s.toplevel, s.calls
               FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
               WHERE r.rolname = ANY($1::text[])""", list(ROLES))
        lsn = await conn.fetchval("SELECT pg_current_wal_lsn()::text")
    finally:
        await conn.close()
    found = {role: {"round_trips": 0, "statements": 0} for role in ROLES}
    by_statement: dict[str, int] = {}
    for r in rows:
        totals = found[r["role"]]
        totals["statements"] += r["calls"]
        if r["toplevel"]:
            totals["round_trips"] += r["calls"]
        name = f"{r['role']} {'' if r['toplevel'] else '(nested) '}{' '.join(r['query'].split())[:160]}"
        by_statement[name] = by_statement.get(name, 0) + r["calls"]
    return {**found, "lsn": lsn, "by_statement": by_statement}


# What a window wrote, read from its WAL in one pass, by the relation each record is first
# about (its block 0: a table or an index, whose own records, an insert of an entry, name
# the index; for a row, its new place):
# - rows: a table's heap records of a row inserted, updated or deleted, a multi-insert as
#   its tuples. What pg_stat_statements calls a statement's rows would do only for plain
#   statements: a WITH's are its last part's alone, so a write moved into a WITH would read
#   as no write at all. The tables' own counters (pg_stat_user_tables) hold the same, but a
#   backend flushes them at most once a second, and an idle one after 10 s: the WAL is read
#   at once.
# - bytes: the records' lengths. What no relation's record holds (commits, running
#   transactions' snapshots) and the pages' own headers are the window's bytes less these,
#   as "(no relation)".
WAL_WRITTEN = """
SELECT c.relname AS relation,
       c.relkind = 'r' AND c.relnamespace <> 'pg_catalog'::regnamespace AS user_table,
       sum(b.record_length)::bigint AS bytes,
       sum(CASE WHEN b.resource_manager = 'Heap'
                     AND split_part(b.record_type, '+', 1) IN ('INSERT', 'UPDATE', 'HOT_UPDATE', 'DELETE') THEN 1
                WHEN b.resource_manager = 'Heap2' AND b.record_type LIKE 'MULTI_INSERT%'
                THEN substring(b.description FROM 'ntuples: ([0-9]+)')::int
                ELSE 0 END)::int AS rows
FROM pg_get_wal_block_info($1::text::pg_lsn, $2::text::pg_lsn, false) b
JOIN pg_class c ON c.oid = pg_filenode_relation(b.reltablespace, b.relfilenode)
WHERE b.block_id = 0
  AND b.reldatabase IN (0, (SELECT oid FROM pg_database WHERE datname = current_database()))
GROUP BY c.relname, c.relkind, c.relnamespace"""


@dataclass
class Written:
    """What `WAL_WRITTEN` read between two WAL positions."""

    wal_bytes: int
    rows_by_table: dict[str, int]  # by name; tables that wrote no row left out
    wal_by_relation: dict[str, int]  # largest first, with "(no relation)"


async def written(conn, start_lsn: str, end_lsn: str) -> Written:
    """What was written between two WAL positions (pg_walinspect's extension made in the
    database)."""
    rows = await conn.fetch(WAL_WRITTEN, start_lsn, end_lsn)
    total = int(await conn.fetchval("SELECT $2::text::pg_lsn - $1::text::pg_lsn", start_lsn, end_lsn))
    by_relation = {r["relation"]: r["bytes"] for r in rows}
    by_relation["(no relation)"] = total - sum(by_relation.values())
    return Written(
        wal_bytes=total,
        rows_by_table={r["relation"]: r["rows"] for r in sorted(rows, key=lambda r: r["relation"])
                       if r["user_table"] and r["rows"]},
        wal_by_relation=dict(sorted(by_relation.items(), key=lambda kv: -kv[1])),
    )


async def window(database_url: str, after: dict, before: dict) -> dict:
    """`counts` over a window, with the rows it wrote, by table."""
    import asyncpg

    out: dict = {role: {k: after[role][k] - before[role][k] for k in after[role]} for role in ROLES}
    conn = await asyncpg.connect(database_url)
    try:
        wal = await written(conn, before["lsn"], after["lsn"])
    finally:
        await conn.close()
    out["wal_bytes"], out["rows_by_table"], out["wal_by_relation"] = \
        wal.wal_bytes, wal.rows_by_table, wal.wal_by_relation
    out["rows_written"] = sum(wal.rows_by_table.values())
    statements = {k: n - before["by_statement"].get(k, 0) for k, n in after["by_statement"].items()}
    out["by_statement"] = {k: n for k, n in statements.items() if n}
    return out


async def _settled(database_url: str, ids: list[str]) -> bool:
    """Every payout of `ids` at `success` with nothing left to do, and each of its webhooks
    delivered."""
    import asyncpg

    conn = await asyncpg.connect(database_url)
    try:
        left = await conn.fetchval(
            "SELECT count(*) FROM payout WHERE id = ANY($1::text[])"
            " AND (status <> 'success' OR next_action_at IS NOT NULL)", ids)
        delivered = await conn.fetchval(
            "SELECT count(*) FROM webhook_delivery d JOIN outbox_event e ON e.id = d.event"
            " WHERE e.payout_id = ANY($1::text[]) AND d.status = 'succeeded'", ids)
        return left == 0 and delivered >= WEBHOOKS * len(ids)
    finally:
        await conn.close()


def wait_settled(database_url: str, ids: list[str]) -> None:
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while not asyncio.run(_settled(database_url, ids)):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(ids)} payouts not settled with their webhooks in {DRAIN_TIMEOUT_S:.0f}s")
        time.sleep(0.25)  # polling a condition, bounded by the deadline
