"""`sandbox bench --soak MINUTES`: hold a steady load for a long time and see whether the
stack stays the same: memory of the API and the worker at the start and the end, errors,
every payout at its scenario's end, every webhook delivered, the ledger invariant.

Starts the stack as `sandbox bench` does (embedded servers in a new temp dir, time scale
0) plus the IPN and one worker; makes `--merchants` merchants, each with a webhook
endpoint on a local receiver (`receiver.py`, its own process, answering 200); finds
the peak create rate with a wrk phase of `--duration` seconds (unless `--rate` is given)
and then, for MINUTES, sends POST /payouts at half of it with wrk paced by `pace.lua`
(`--connections` connections; a late answer delays its connection's next request), mixing
the success, retried and failed scenarios.
Memory is the resident set (RSS) of each process, read at the start of the soak, once a
minute, and at the end."""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from sandbox.bench.harness import cpu, report
from sandbox.bench.harness.load import wrk
from sandbox.bench.harness.procs import cli, say, spawn, wait_http
from sandbox.bench.harness.stack import Stack, make_merchants, start_receiver, with_db
from sandbox.runtime.embedded import EmbeddedPostgres
from sandbox.settings import WEBHOOK_CLIENTS

# success, success, retried then success, failed: every path ends without a person.
SUFFIXES = ("0001", "0001", "0002", "0003")
DRAIN_TIMEOUT_S = 300.0
# What "the soak holds" means, judged from one run: the worker kept up (what it had left
# at the end is at most a minute of the rate it was made at), nothing failed, memory stayed
# flat once warm (the first minute is the warm-up), and every minute's POST p99 stayed low.
GOALS = (
    ("payouts behind at the end <= 1 minute of the rate", "payouts_behind_min", "<=", 1.0),
    ("deliveries behind at the end <= 1 minute of their rate", "deliveries_behind_min", "<=", 1.0),
    ("0 errors", "errors", "<=", 0),
    ("API RSS after the first minute <= +30 MB", "api_rss_growth_after_warmup_mb", "<=", 30.0),
    ("worker RSS after the first minute <= +30 MB", "worker_rss_growth_after_warmup_mb", "<=", 30.0),
    ("POST p99 <= 100 ms every minute", "worst_minute_p99_ms", "<=", 100.0),
    ("machine CPU per webhook delivery, draining <= 0.7 ms", "cpu_ms_per_delivery", "<=", 0.7),
    ("machine CPU a payout, its webhooks delivered <= 6.0 ms", "cpu_ms_per_payout", "<=", 6.0),
)


@dataclass
class Tally:
    sent: int = 0
    errors: int = 0
    seconds: float = 0.0
    p50_ms: list[float | None] = field(default_factory=list)  # one per minute
    p99_ms: list[float | None] = field(default_factory=list)


def _rss_mb(pid: int) -> float:
    """The process's RSS with its children's (`--api-workers N`: the API processes forked
    from it, whose shared pages each counts again; the growth is what the goal reads)."""
    import psutil

    proc = psutil.Process(pid)
    return round(sum(p.memory_info().rss for p in (proc, *proc.children(recursive=True))) / 1_048_576, 1)


async def _register_webhooks(stack: Stack, keys: list[str], url: str) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=stack.api_url + "/api/v1", timeout=30) as client:
        for key in keys:
            r = await client.post("/webhook-endpoints", json={"url": url, "events": ["payout.*"]},
                                  headers={"X-API-KEY": key, "X-Idempotency-Key": secrets.token_hex(12)})
            r.raise_for_status()


def _load(stack: Stack, args: argparse.Namespace, keys_file: Path, rate: float, on_minute) -> Tally:
    """POST /payouts paced at `rate` per second (wrk with `pace.lua`), a minute at a time so
    memory is read between minutes; the scenarios mixed by account suffix."""
    tally = Tally()
    tag = secrets.token_hex(4)
    left = args.soak * 60
    minute = 0
    while left > 0:
        minute += 1
        run = wrk(stack.api_url + "/api/v1/payouts", "post_payouts.lua", [str(keys_file), f"{tag}m{minute}",
                  ",".join(SUFFIXES)], duration=min(60.0, left), connections=args.connections,
                  threads=args.threads, rate=rate)
        left -= 60
        tally.sent += run.requests
        tally.errors += run.errors
        tally.seconds += run.seconds
        tally.p50_ms.append(run.p50_ms)
        tally.p99_ms.append(run.p99_ms)
        on_minute(minute, tally)
    return tally


async def _drained() -> tuple[int, int]:
    """Payouts not yet at their end, webhook deliveries not yet succeeded or given up."""
    from sandbox import db

    unsettled = await db.fetchval("SELECT count(*) FROM payout WHERE next_action_at IS NOT NULL")
    undelivered = await db.fetchval("SELECT count(*) FROM webhook_delivery WHERE status = 'pending'")
    return unsettled, undelivered


async def _wait_drained() -> tuple[int, int, float]:
    started = time.monotonic()
    while True:
        left = await _drained()
        if left == (0, 0) or time.monotonic() - started > DRAIN_TIMEOUT_S:
            return (*left, round(time.monotonic() - started, 1))
        await asyncio.sleep(0.5)  # polling a condition, bounded by DRAIN_TIMEOUT_S


async def _delivered() -> dict[str, int]:
    """Webhook deliveries by status (succeeded, failed, ...)."""
    from sandbox import db

    rows = await db.fetch("SELECT status, count(*) AS n FROM webhook_delivery GROUP BY status")
    return {r["status"]: r["n"] for r in rows}


async def _wal_position() -> str:
    """Where PostgreSQL's write-ahead log is now."""
    from sandbox import db

    return await db.fetchval("SELECT pg_current_wal_lsn()::text")


def _wal_since(position: str):
    async def since() -> int:
        """Bytes of write-ahead log written since `position`."""
        from sandbox import db

        return int(await db.fetchval("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::text::pg_lsn)", position))

    return since


async def _invariant() -> list[str]:
    from sandbox.ledger.service import check_invariant

    return await check_invariant()


def _delivery_rates(before: dict[str, int], at_end: dict[str, int], after_drain: dict[str, int], load_s: float,
                    drain_s: float) -> dict[str, float | None]:
    """Deliveries a second (from their counts by status before the load, at its end and
    after the drain): made (what keeping up needs) and done while loading, and done while
    draining what was left (what the worker does with the machine to itself; a drain that
    timed out counts what it finished)."""
    def done(counts: dict[str, int]) -> int:
        return sum(n for status, n in counts.items() if status != "pending")

    def per_s(n: int, seconds: float) -> float | None:
        return round(n / seconds, 1) if seconds > 0 else None

    return {"made_while_loading": per_s(sum(at_end.values()) - sum(before.values()), load_s),
            "done_while_loading": per_s(done(at_end) - done(before), load_s),
            "done_while_draining": per_s(done(after_drain) - done(at_end), drain_s) if at_end.get("pending") else None}


def _peak(stack: Stack, args: argparse.Namespace, keys_file: Path) -> float:
    tag = secrets.token_hex(4)
    url = stack.api_url + "/api/v1/payouts"
    say(f"peak: {args.duration:.0f}s of POST /payouts with wrk, {args.connections} connections")
    wrk(url, "post_payouts.lua", [str(keys_file), f"{tag}w"], duration=max(1.0, args.duration / 3),
        connections=args.connections, threads=args.threads)
    return wrk(url, "post_payouts.lua", [str(keys_file), f"{tag}p"], duration=args.duration,
               connections=args.connections, threads=args.threads).ok_per_s


def soak(args: argparse.Namespace, stack: Stack) -> dict:
    reference = cpu.reference_ms()  # before anything loads the machine
    cli(stack.env, "migrate")
    cli(stack.env, "seed")
    procs = {}
    for name in ("api", "ipn", "worker"):
        procs[name] = spawn([sys.executable, "-m", "sandbox.cli", name], stack.env, stack.logs / f"{name}.log")
        stack.procs.append(procs[name])
    wait_http(stack.api_url + "/api/v1/ready", procs["api"], stack.logs / "api.log")
    hooks = start_receiver(stack)
    say(f"making {args.merchants} merchants, each with a webhook endpoint on {hooks}")
    keys = asyncio.run(make_merchants(stack, args.merchants))
    asyncio.run(_register_webhooks(stack, keys, hooks))
    keys_file = stack.data_dir / "soak.keys"
    keys_file.write_text("\n".join(keys) + "\n")
    peak = None if args.rate else _peak(stack, args, keys_file)
    rate = args.rate if peak is None else peak / 2
    drained_before = asyncio.run(with_db(stack, _wait_drained))  # the peak phase's backlog first
    rss = {"start": {name: _rss_mb(procs[name].pid) for name in ("api", "worker")}}
    delivered_before = asyncio.run(with_db(stack, _delivered))
    say(f"soak: {args.soak:g} min at {rate:.0f} POST /payouts a second; RSS at start {rss['start']} MB")

    def on_minute(minute: int, tally: Tally) -> None:
        rss[f"minute {minute}"] = {name: _rss_mb(procs[name].pid) for name in ("api", "worker")}
        say(f"  minute {minute}: {tally.sent} sent, {tally.errors} errors, RSS {rss[f'minute {minute}']} MB")

    postmaster = EmbeddedPostgres(stack.data_dir).pid()
    wal_at_start = asyncio.run(with_db(stack, _wal_position))
    loaded = cpu.read(postmaster)
    tally = _load(stack, args, keys_file, rate, on_minute)
    rss["end"] = {name: _rss_mb(procs[name].pid) for name in ("api", "worker")}
    draining = cpu.read(postmaster)
    behind = asyncio.run(with_db(stack, _drained))  # how far the worker is behind the API
    delivered_at_end = asyncio.run(with_db(stack, _delivered))
    say(f"waiting for every payout to end and every webhook to be delivered ({behind[0]} payouts, "
        f"{behind[1]} deliveries to go)")
    unsettled, undelivered, drain_s = asyncio.run(with_db(stack, _wait_drained))
    delivered_after = asyncio.run(with_db(stack, _delivered))
    drained = cpu.read(postmaster)
    cores = {"load": cpu.cores(loaded, draining), "drain": cpu.cores(draining, drained)}
    waits = {"load": cpu.waiting(loaded, draining), "drain": cpu.waiting(draining, drained)}
    wal_bytes = asyncio.run(with_db(stack, _wal_since(wal_at_start)))
    problems = asyncio.run(with_db(stack, _invariant))
    delivered = {k: v - delivered_before.get(k, 0) for k, v in delivered_after.items()}
    rates = _delivery_rates(delivered_before, delivered_at_end, delivered_after, tally.seconds, drain_s)
    result = {
        "minutes": args.soak, "merchants": args.merchants, "peak_per_s": peak and round(peak, 1),
        "reference_loop_ms": reference,
        "webhook_client": stack.env.get("SANDBOX_WEBHOOK_CLIENT") or WEBHOOK_CLIENTS[0],
        "target_per_s": round(rate, 1), "sent": tally.sent,
        "achieved_per_s": round(tally.sent / tally.seconds, 1) if tally.seconds else 0.0, "errors": tally.errors,
        "p50_ms_by_minute": tally.p50_ms, "p99_ms_by_minute": tally.p99_ms,
        "rss_mb": rss,
        "rss_growth_mb": {name: round(rss["end"][name] - rss["start"][name], 1) for name in ("api", "worker")},
        "webhook_deliveries": delivered, "delivery_rates": rates, "backlog_before": drained_before[:2],
        "behind_at_end": {"payouts_unsettled": behind[0], "deliveries_pending": behind[1]},
        "left_after_drain": {"payouts_unsettled": unsettled, "deliveries_pending": undelivered,
                             "drain_s": drain_s},
        "processes_alive": {name: p.poll() is None for name, p in procs.items()},
        "cpu_cores": cores,
        "waiting_for_a_core": {phase: by_kind for phase, by_kind in waits.items() if by_kind},
        # Loading and draining, over the payouts sent: each payout with its steps, events and deliveries.
        "wal_kb_per_payout": round(wal_bytes / tally.sent / 1024, 2) if tally.sent else None,
        "ledger_invariant": "holds" if not problems else problems[:10],
    }
    result["goals"] = report.judge(GOALS, _figures(result))
    return result


def _figures(r: dict) -> dict:
    """The figures GOALS reads, from the result."""
    def minutes(behind: int, per_s: float | None) -> float | None:
        if not behind:
            return 0.0
        return round(behind / (per_s * 60), 2) if per_s else None

    warm = r["rss_mb"].get("minute 1") if len(r["p99_ms_by_minute"]) > 1 else None
    after_warmup = warm or r["rss_mb"]["start"]
    p99s = [p for p in r["p99_ms_by_minute"] if p is not None]
    return {
        "payouts_behind_min": minutes(r["behind_at_end"]["payouts_unsettled"], r["achieved_per_s"]),
        "deliveries_behind_min": minutes(r["behind_at_end"]["deliveries_pending"],
                                         r["delivery_rates"]["made_while_loading"]),
        "errors": r["errors"],
        **{f"{name}_rss_growth_after_warmup_mb": round(r["rss_mb"]["end"][name] - after_warmup[name], 1)
           for name in ("api", "worker")},
        "worst_minute_p99_ms": max(p99s) if p99s else None,
        "cpu_ms_per_delivery": _cpu_ms_per_delivery(r),
        "cpu_ms_per_payout": _cpu_ms_per_payout(r).get("machine"),
    }


def _cpu_ms_per_payout(r: dict) -> dict[str, float]:
    """Milliseconds of CPU for each payout sent, with all its work: made, stepped to its end
    and its webhooks delivered, so the load's CPU and then the drain's (a worker that fell
    behind while loading does the rest of its deliveries there). By process kind and for the
    machine, the webhook receiver left out: it is the merchant's side, not the sandbox's.
    wrk (`bench`) stays in the machine's figure: a client's requests cost the machine
    whoever sends them."""
    cores, sent, per_s = r.get("cpu_cores", {}), r.get("sent"), r.get("achieved_per_s")
    if "load" not in cores or not sent or not per_s:
        return {}
    seconds = {"load": sent / per_s, "drain": r["left_after_drain"]["drain_s"] if "drain" in cores else 0.0}
    used: dict[str, float] = {}  # CPU seconds
    for phase, took in seconds.items():
        for kind, busy in cores.get(phase, {}).items():
            used[kind] = used.get(kind, 0.0) + busy * took
    kinds = {kind: round(cpu / sent * 1000, 2) for kind, cpu in sorted(used.items(), key=lambda kv: -kv[1])
             if kind not in ("machine", "receiver")}
    kinds["machine"] = round((used.get("machine", 0.0) - used.get("receiver", 0.0)) / sent * 1000, 2)
    return kinds


# A drain shorter than this measures the servers' own work after the load (PostgreSQL's
# writes, autovacuum) more than deliveries: a 3-minute soak at 200/s that ended 86
# deliveries behind drained them in under a second and reported 1.84 ms a delivery,
# where a 15 s drain of 37,350 measured 0.63 ms.
MIN_DRAIN_S = 5.0


def _cpu_ms_per_delivery(r: dict) -> float | None:
    """The machine's CPU (every process: PostgreSQL, the worker, the receiver, the rest)
    per delivery done while the worker drains what the load left: with the API idle, that
    is almost all webhook work. None when nothing was left to drain, or too little to
    take MIN_DRAIN_S."""
    per_s = r["delivery_rates"].get("done_while_draining")
    busy = r.get("cpu_cores", {}).get("drain", {}).get("machine")
    if not per_s or busy is None or r["left_after_drain"]["drain_s"] < MIN_DRAIN_S:
        return None
    return round(busy / per_s * 1000, 2)


def _client_figures(r: dict, figures: dict) -> str:
    if figures["cpu_ms_per_delivery"] is not None:
        return (f"{figures['cpu_ms_per_delivery']} ms of machine CPU a delivery and "
                f"{r['delivery_rates']['done_while_draining']} deliveries/s while draining")
    if r["delivery_rates"]["done_while_draining"] is None:
        return "kept up while loading, nothing left to drain"
    return (f"kept up nearly: what was left drained in {r['left_after_drain']['drain_s']}s, "
            f"too short to measure CPU a delivery (under {MIN_DRAIN_S:g}s)")


def render(r: dict) -> str:
    processes = ", ".join(f"{name} {'up' if up else 'DEAD'}" for name, up in r["processes_alive"].items())
    figures = _figures(r)
    lines = [
        f"sandbox bench --soak {r['minutes']:g}: {r['merchants']} merchants, webhooks to a local receiver"
        + report.machine(r.get("reference_loop_ms")),
        # The three figures the delivery clients' A/B compares, on one line per run.
        f"  client        {r['webhook_client']}: {_client_figures(r, figures)}"
        f"; worst minute's POST p99 {figures['worst_minute_p99_ms']} ms",
        f"  rate          {r['achieved_per_s']}/s achieved of {r['target_per_s']}/s target"
        + (f" (half the peak {r['peak_per_s']}/s)" if r["peak_per_s"] else " (given)"),
        *(["  NOTE          the stack did not keep up with the target: wrk's connections were all busy"]
          if r["achieved_per_s"] < 0.9 * r["target_per_s"] else []),
        f"  requests      {r['sent']} sent, {r['errors']} errors (non-2xx, socket errors, timeouts)",
        f"  latency (ms)  p50 by minute {r['p50_ms_by_minute']}, p99 by minute {r['p99_ms_by_minute']}",
        f"  RSS (MB)      API {r['rss_mb']['start']['api']} -> {r['rss_mb']['end']['api']}"
        f" ({r['rss_growth_mb']['api']:+}), worker {r['rss_mb']['start']['worker']} -> "
        f"{r['rss_mb']['end']['worker']} ({r['rss_growth_mb']['worker']:+})",
        f"  webhooks      deliveries of the soak's events by status {r['webhook_deliveries']}",
        f"                a second: {r['delivery_rates']['made_while_loading']} made and "
        f"{r['delivery_rates']['done_while_loading']} done while loading, "
        + (f"{drained} done while draining" if (drained := r["delivery_rates"]["done_while_draining"]) is not None
           else "none left to drain"),
        f"  at the end    the worker was {r['behind_at_end']['payouts_unsettled']} payouts and "
        f"{r['behind_at_end']['deliveries_pending']} deliveries behind",
        f"  after drain   {r['left_after_drain']['payouts_unsettled']} payouts unsettled, "
        f"{r['left_after_drain']['deliveries_pending']} deliveries pending ({r['left_after_drain']['drain_s']}s)",
        f"  processes     {processes}",
        *(f"  CPU ({phase}) {' ' * (7 - len(phase))}cores busy: {cpu.render(by_kind)}"
          for phase, by_kind in r.get("cpu_cores", {}).items()),
        *(f"  wait ({phase}){' ' * (7 - len(phase))}for a core: {cpu.render_waiting(by_kind)}"
          for phase, by_kind in r.get("waiting_for_a_core", {}).items()),
        *(["  CPU a payout  ms, loading and draining, receiver left out: "
           + ", ".join(f"{kind} {ms:.2f}" for kind, ms in per_payout.items())]
          if (per_payout := _cpu_ms_per_payout(r)) else []),
        *([f"  WAL a payout  {r['wal_kb_per_payout']} KB of PostgreSQL's write-ahead log, loading and draining"]
          if r.get("wal_kb_per_payout") is not None else []),
    ]
    inv = r["ledger_invariant"]
    lines.append(f"  ledger        {'invariant holds' if inv == 'holds' else 'BROKEN: ' + '; '.join(inv)}")
    lines += ["", "  goals (the soak holds)", *report.goal_lines(r["goals"], width=56)]
    return "\n".join(lines)


def ok(r: dict) -> bool:
    return (r["ledger_invariant"] == "holds" and r["errors"] == 0 and all(r["processes_alive"].values())
            and r["left_after_drain"]["payouts_unsettled"] == 0)
