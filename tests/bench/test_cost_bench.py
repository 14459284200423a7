"""`sandbox bench --cost`'s parts that decide a verdict: the budgets check (CI's cost lane
fails on what it says), Redis's commands counted by name and key with nothing of the
bench's own, the counted worker without its periodic jobs, and a counted server that
stops at once with no tick to notice the signal. The bench itself runs in
.ci/cost (minutes under valgrind), not here."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from sandbox.bench.cost import budgets_of_the_mode, over_budget
from sandbox.bench.harness.redis_monitor import RedisMonitor
from sandbox.bench.servers.counted import HELD_S, without_periodic_jobs

BUDGETS = Path(__file__).resolve().parents[2] / ".ci" / "cost-budgets.json"


def test_a_figure_within_three_percent_of_its_budget_holds() -> None:
    assert over_budget({"api_ratio": {"post_payout": 10.3}}, {"api_ratio": {"post_payout": 10.0}}) == []


def test_a_figure_over_its_budget_is_named_with_how_far() -> None:
    over = over_budget({"api_ratio": {"post_payout": 10.31}, "redis_commands_per_payout": 3},
                       {"api_ratio": {"post_payout": 10.0}, "redis_commands_per_payout": 3})
    assert over == ["api_ratio.post_payout: 10.31 > budget 10.0 (+3.1 %)"]


def test_a_budget_with_no_figure_is_not_passed_silently() -> None:
    assert over_budget({}, {"worker_ratio": 12.0}) == ["worker_ratio: no figure (budget 12.0)"]


def test_the_committed_budgets_name_every_figure_the_issue_asks_for() -> None:
    figures = json.loads(BUDGETS.read_text())["figures"]
    assert set(figures["api_ratio"]) == {"post_payout", "get_payout", "list_payouts", "get_balance"}
    assert {"worker_ratio", "redis_commands_per_payout"} <= set(figures)
    assert set(figures["postgres_per_payout"]) == {"statements", "round_trips_api", "round_trips_worker",
                                                   "rows_written", "wal_bytes"}
    burst = figures["burst"]
    assert {"api_ratio", "worker_ratio", "postgres_ratio", "redis_commands_per_payout"} <= set(burst)
    assert set(burst["postgres_per_payout"]) == set(figures["postgres_per_payout"])


def test_a_run_is_held_to_its_own_mode_s_budgets_only() -> None:
    """.ci/cost runs the bench twice, one at a time and in a burst: neither run's missing
    figures (the other mode's) may fail it, and none of its own may go unchecked."""
    figures = json.loads(BUDGETS.read_text())["figures"]
    one = {"worker_ratio": 1.0}
    assert over_budget(one, budgets_of_the_mode({"worker_ratio": 1.0, "burst": {"worker_ratio": 0.5}}, False)) == []
    burst_run = {"burst": {"worker_ratio": 0.6}}
    assert over_budget(burst_run, budgets_of_the_mode({"worker_ratio": 0.1, "burst": {"worker_ratio": 0.5}}, True)) \
        == ["burst.worker_ratio: 0.6 > budget 0.5 (+20.0 %)"]
    assert set(budgets_of_the_mode(figures, True)) == {"burst"}
    assert "burst" not in budgets_of_the_mode(figures, False)


async def test_redis_commands_are_counted_by_name_and_key_without_the_bench_s_own(stack) -> None:
    import redis.asyncio as redis

    monitor = RedisMonitor(stack.redis_url).start()
    before = monitor.snapshot()
    client = redis.from_url(stack.redis_url)
    try:
        await client.set("cost-test:a", "1")
        await client.incrby("cost-test:a", 2)
        await client.eval("redis.call('GET', KEYS[1]); return redis.call('GET', KEYS[1])", 1, "cost-test:a")
    finally:
        await client.delete("cost-test:a")
        await client.aclose()
    counted = monitor.snapshot() - before
    assert counted[("SET", "cost-test:a")] == 1
    assert counted[("INCRBY", "cost-test:a")] == 1, counted
    # One script sent; the GETs it runs inside Redis are not commands sent.
    assert sum(n for (name, _), n in counted.items() if name == "EVAL") == 1, counted
    assert not [what for what in counted if what[0] in ("ECHO", "MONITOR", "GET")]


@pytest.mark.parametrize("crons", [[], ["sweep", "prune"]])
def test_the_counted_worker_runs_no_periodic_job_and_writes_its_heartbeat_once(crons) -> None:
    class Worker:
        cron_jobs = crons
        health_check_interval = 5

    built = without_periodic_jobs(lambda: Worker())()
    assert built.cron_jobs == []
    assert built.health_check_interval == HELD_S


def test_a_counted_server_without_its_tick_still_stops_at_once_when_told(tmp_path) -> None:
    """uvicorn looks for a stop on its tick; the counted servers have none after the first,
    so the stop signal itself must end the server."""
    import signal
    import sys

    from sandbox.bench.harness.procs import free_port, spawn, wait_http

    port, log = free_port(), tmp_path / "hello.log"
    proc = spawn([sys.executable, "-m", "sandbox.bench.servers.counted", "hello", str(port)],
                 {**os.environ, "SANDBOX_LOG_LEVEL": "WARNING"}, log)
    try:
        wait_http(f"http://127.0.0.1:{port}/hello", proc, log)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


async def test_rows_written_are_read_from_the_wal_whatever_the_statement_s_shape(servers) -> None:
    """A WITH's data-modifying parts write rows that pg_stat_statements' `rows` (its last
    part's alone) never showed: the bench reads what each table wrote from the WAL."""
    import asyncpg

    from sandbox.bench.harness.cost_postgres import written

    conn = await asyncpg.connect(servers[0])
    try:
        if await conn.fetchval("SELECT current_setting('server_version_num')::int") < 160000:
            pytest.skip("pg_get_wal_block_info is PostgreSQL 16's (the embedded server is 18)")
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_walinspect")
        await conn.execute("CREATE TABLE cost_rows_a (n int PRIMARY KEY, v text); CREATE TABLE cost_rows_b (n int);"
                           " CREATE INDEX cost_rows_b_n ON cost_rows_b (n)")
        await conn.execute("INSERT INTO cost_rows_a SELECT g, 'x' FROM generate_series(1, 4) g")
        start = await conn.fetchval("SELECT pg_current_wal_lsn()::text")
        await conn.execute("""WITH moved AS (UPDATE cost_rows_a SET v = 'y' WHERE n <= 3 RETURNING n),
                                   gone AS (DELETE FROM cost_rows_a WHERE n = 4 RETURNING n)
                              INSERT INTO cost_rows_b SELECT n FROM moved UNION ALL SELECT n FROM gone""")
        await conn.execute("SELECT * FROM cost_rows_a FOR UPDATE")  # a lock writes no row
        await conn.copy_records_to_table("cost_rows_b", records=[(10,), (11,)])  # a multi-insert, its tuples
        end = await conn.fetchval("SELECT pg_current_wal_lsn()::text")
        wrote = await written(conn, start, end)
        assert wrote.rows_by_table == {"cost_rows_a": 4, "cost_rows_b": 6}
        wal = wrote.wal_by_relation
        assert {"cost_rows_a", "cost_rows_b", "cost_rows_b_n"} <= set(wal), wal
        assert sum(wal.values()) == await conn.fetchval("SELECT $1::text::pg_lsn - $2::text::pg_lsn", end, start)
        assert wal["(no relation)"] > 0  # the statements' commits
    finally:
        await conn.execute("DROP TABLE IF EXISTS cost_rows_a, cost_rows_b")
        await conn.close()
