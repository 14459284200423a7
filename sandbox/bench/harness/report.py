"""`sandbox bench`'s figures as the table it prints, and goals judged against them (the
phases' and the soak's alike)."""

from __future__ import annotations

# A goal: (what it says, the figure it reads, ">=" or "<=", the threshold).
Goal = tuple[str, str, str, float]


def judge(goals: list[Goal] | tuple[Goal, ...], figures: dict) -> list[dict]:
    """Each goal with the run's figure and whether it was met (a figure of None is not)."""
    judged = []
    for name, key, op, threshold in goals:
        value = figures[key]
        met = value is not None and (value >= threshold if op == ">=" else value <= threshold)
        judged.append({"goal": name, "figure": key, "value": value, "met": met})
    return judged


def goal_lines(goals: list[dict], width: int = 52) -> list[str]:
    lines = []
    for g in goals:
        # A goal without its figure (a soak whose worker kept up has no drain to measure) is
        # not met, but it did not fail either: said apart.
        verdict = "met    " if g["met"] else "no data" if g["value"] is None else "NOT met"
        value = "n/a" if g["value"] is None else f"{g['value']:g}"
        lines.append(f"    {verdict}  {g['goal']:<{width}} {g['figure']} = {value}")
    return lines


def _row(name: str, r: dict, extra: str = "") -> str:
    p50 = f"{r['p50_ms']:8.2f}" if r.get("p50_ms") is not None else f"{'':>8}"
    p99 = f"{r['p99_ms']:8.2f}" if r.get("p99_ms") is not None else f"{'':>8}"
    return f"  {name:<34}{r['requests_per_s']:>10.1f}{p50}{p99}{r['errors']:>8}  {extra}"


def _scaling_rows(scaling: dict) -> list[str]:
    n = scaling["processes"]
    return [_row(f"{what}, {k} API process{'es' if k > 1 else ''}", scaling[f"{key}_{k}"],
                 f"({scaling[f'{key}_ratio']} x one)" if k == n else "")
            for what, key in (("POST spread", "post"), ("GET", "get")) for k in (1, n)]


def machine(reference_ms: float | None) -> str:
    """The end of a report's first line: how fast the machine ran (`cpu.reference_ms`);
    nothing for a result recorded before the bench measured it."""
    return f"; the machine's reference loop {reference_ms} ms" if reference_ms is not None else ""


def render(result: dict) -> str:
    s = result["settings"]
    lines = [
        f"sandbox bench: {s['duration_s']:g}s a phase, wrk {s['wrk_threads']} threads x {s['connections']} "
        f"connections, {s['merchants']} merchants, {s['cpus']} CPUs, {s['api_workers']} API worker(s)"
        + machine(s.get("reference_loop_ms")),
        "",
        f"  {'phase':<34}{'per s':>10}{'p50 ms':>8}{'p99 ms':>8}{'errors':>8}",
        _row("POST /payouts, spread", result["post_spread"]),
        _row("POST /payouts, one hot merchant", result["post_hot"]),
        _row("POST /payouts, half the peak", result["post_half_peak"],
            f"(target {result['post_half_peak']['target_per_s']:.0f}/s)"),
        _row("GET /payouts/{id}", result["get_payout"]),
        _row("hello-world (bare Litestar)", result["hello_world"]),
        _row("ceiling: bare GET, same statement", result["ceiling_get"]),
        _row("ceiling: bare POST, pgbench's tx", result["ceiling_post_transaction"], "(6 round trips)"),
        _row("ceiling: bare POST, one statement", result["ceiling_post_statement"], "(1 round trip)"),
        _row("ceiling: bare GET + rate limit", result["ceiling_get_limited"], "(+1 Redis round trip)"),
        _row("ceiling: one statement + rate limit", result["ceiling_post_limited"], "(+1 Redis round trip)"),
        _row(f"pgbench, same SQL ({s['pgbench_clients']} clients)", result["pgbench"],
            f"(avg latency {result['pgbench'].get('latency_avg_ms')} ms)"),
        f"  {'worker, payouts settled':<34}{result['worker']['settled_per_s']:>10.1f}"
        f"{'':>16}{'':>8}  ({result['worker']['steps']} steps in {result['worker']['seconds']}s, "
        f"{result['worker']['workers']} process(es))",
        _row("POST /payouts, worker settling", result["post_while_settling"],
            f"(worker settled {result['post_while_settling']['worker_settled_per_s']:.1f}/s beside it)"),
        *_scaling_rows(result["scaling"]),
        "",
        "  goals",
    ]
    lines += goal_lines(result["goals"])
    lines += ["", "  other ratios (the references earlier runs used)"]
    for name, value in result["other_ratios"].items():
        lines.append(f"    {name:<48} = {'n/a' if value is None else f'{value:g}'}")
    lines += ["", "  ceilings (the bare app doing the same database work; with the rate limit's call)"]
    for name, value in result["ceiling_ratios"].items():
        lines.append(f"    {name:<48} = {'n/a' if value is None else f'{value:g}'}")
    if result.get("batch"):
        b = result["batch"]
        lines += ["", f"  batch of {b['rows']} rows: accepted in {b['accept_s']}s, every payout created after "
                      f"{b['completed_s']}s, every payout final after {b['all_payouts_final_s']}s; API peak RSS "
                      f"{b['api_peak_rss_mb_before_upload']} MB before, {b['api_peak_rss_mb_at_end']} MB at the end"]
    lines.append("")
    inv = result["ledger_invariant"]
    lines.append(f"  ledger invariant: {inv if inv == 'holds' else 'BROKEN: ' + '; '.join(inv)}")
    return "\n".join(lines)
