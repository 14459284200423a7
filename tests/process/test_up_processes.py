"""The processes of a running `sandbox up` say what they are: `ps` names each one
(`mypay-sandbox: api :PORT`, `… api process 2`, `… ipn :PORT`, `… worker`, `… supervisor`);
`sandbox status` prints each part and exits 0 while all serve, non-zero naming the part
that does not; and no finished child is left a zombie beside it (the start-up template's
spare copy, a `cp`, was). One `up` on a cache that holds the template and no spare copy,
so this `up` makes one; the tests run in file order."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox.runtime import template
from tests.process.conftest import REPO, Up, scratch_dir, wait_until

MAKE = ("from sandbox.runtime import template; from sandbox.settings import get_settings; "
        "print(template.ensure(get_settings().cache_dir))")
SPARE_TIMEOUT = 120.0  # the spare's `cp` runs at the lowest priority: on a busy machine, slowly


def clean_env(**env: str) -> dict[str, str]:
    """As `Up` starts `up`: no SANDBOX_* of this shell's."""
    return {**{k: v for k, v in os.environ.items() if not k.startswith("SANDBOX_")}, **env}


@pytest.fixture(scope="module")
def run():
    with scratch_dir() as path:
        # This installation's template, as every `up` here finds it, copied alone into a
        # cache of the test's own: no spare copy there, so the `up` below makes one.
        made = subprocess.run([sys.executable, "-c", MAKE], cwd=REPO, env=clean_env(), capture_output=True,
                              text=True, timeout=300, check=False)
        assert made.returncode == 0, made.stderr[-3000:]
        found = Path(made.stdout.strip().splitlines()[-1])
        cache = path / "cache"
        (cache / "templates" / found.name).mkdir(parents=True)
        subprocess.run(["cp", "-a", str(found / "postgres"), str(cache / "templates" / found.name)], check=True)
        up = Up(path / "data", SANDBOX_CACHE_DIR=str(cache), SANDBOX_API_WORKERS="2")
        up.spares = cache / "templates" / found.name / template.SPARES
        try:
            up.wait_ready()
            yield up
        finally:
            up.close()


def ps(*args: str) -> list[tuple[int, int, str]]:
    """(pid, parent pid, command line) of every process, as `ps` shows them."""
    out = subprocess.run(["ps", *args, "-o", "pid=,ppid=,args="], capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines():
        pid, ppid, *args_ = line.split(None, 2)
        rows.append((int(pid), int(ppid), args_[0].strip() if args_ else ""))
    return rows


def descendants(root: int) -> list[tuple[int, int, str]]:
    everyone = ps("-e")
    found, parents = [], {root}
    while True:
        more = [row for row in everyone if row[1] in parents and row not in found]
        if not more:
            return found
        found += more
        parents |= {pid for pid, _, _ in more}


def stat_of(pid: int) -> tuple[str, str, int] | None:
    """(name, state, parent pid) from /proc/<pid>/stat, or None when it has gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name, rest = text[text.index("(") + 1:text.rindex(")")], text[text.rindex(")") + 2:].split()
    return name, rest[0], int(rest[1])


def children_of(parent: int) -> list[tuple[int, str, str]]:
    """(pid, name, state) of each process whose parent is `parent`, zombies included."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := stat_of(int(entry.name))) is not None and stat[2] == parent:
            found.append((int(entry.name), stat[0], stat[1]))
    return found


def status(run: Up, *args: str) -> subprocess.CompletedProcess[str]:
    """`sandbox status` as a user runs it in another shell: only the data dir is set (the
    ports, the Redis socket come from what `up` recorded there)."""
    return subprocess.run([sys.executable, "-m", "sandbox.cli", "status", *args], cwd=REPO,
                          env=clean_env(SANDBOX_DATA_DIR=str(run.data_dir)), capture_output=True, text=True,
                          timeout=60, check=False)


def test_ps_names_every_process(run):
    assert Path(f"/proc/{run.proc.pid}/cmdline").read_bytes().rstrip(b"\0 ") == b"mypay-sandbox: supervisor"
    ours = [(pid, ppid, args) for pid, ppid, args in descendants(run.proc.pid)
            if not args.startswith(("/", "cp ", "nice ", "["))]  # redis-server, the spare's copy, a zombie
    titles = sorted(args for _, _, args in ours)
    assert titles == sorted([f"mypay-sandbox: api :{run.port}", "mypay-sandbox: api process 1",
                             "mypay-sandbox: api process 2", f"mypay-sandbox: ipn :{run.ipn_port}",
                             "mypay-sandbox: worker"]), ours
    api = next(pid for pid, _, args in ours if args == f"mypay-sandbox: api :{run.port}")
    assert {args for _, ppid, args in ours if ppid == api} == {"mypay-sandbox: api process 1",
                                                              "mypay-sandbox: api process 2"}
    # The short name `top` and `pgrep` read stays each part's own.
    worker = next(pid for pid, _, args in ours if args == "mypay-sandbox: worker")
    assert Path(f"/proc/{worker}/comm").read_text().strip() == "sandbox-worker"


def test_no_zombie_child_beside_a_running_up(run):
    """The spare copy's `cp` ends a second or so after ready; it must not stay `<defunct>`."""
    def copy_running() -> bool:
        return any(name == "cp" and state != "Z" for _, name, state in children_of(run.proc.pid))

    wait_until(lambda: not copy_running(), SPARE_TIMEOUT, "the spare copy's cp to end")
    try:
        wait_until(lambda: not [c for c in children_of(run.proc.pid) if c[2] == "Z"], 5, "no zombie child")
    except AssertionError:
        zombies = [c for c in children_of(run.proc.pid) if c[2] == "Z"]
        raise AssertionError(f"zombie children of `sandbox up` (pid, name, state): {zombies}") from None
    # And the copy it made is there for the next fresh start, without waiting for a stop: `up`
    # names it once it has reaped the `cp`, a moment after (a whole-suite run at load 15 read
    # the folder in between and found only the `.making-…` one).
    wait_until(lambda: [p.name for p in run.spares.iterdir() if not p.name.startswith(template.MAKING)],
               SPARE_TIMEOUT, "the spare copy named for the next fresh start")


def test_status_prints_each_part_and_answers_0_while_all_serve(run):
    answer = status(run)
    assert answer.returncode == 0, answer.stdout + answer.stderr
    table = answer.stdout
    for name in ("supervisor", f"api :{run.port}", "api process 1", "api process 2", f"ipn :{run.ipn_port}",
                 "worker", "postgres", "redis"):
        assert name in table, table
    parts = json.loads(status(run, "--json").stdout)
    assert parts["ok"] is True and parts["running"] is True
    by_name = {p["name"]: p for p in parts["parts"]}
    assert by_name["supervisor"]["pid"] == run.proc.pid
    assert all(p["ready"] == "ok" and p["pid"] and p["uptime_s"] is not None for p in parts["parts"]), parts
    worker = by_name["worker"]
    assert 0 <= worker["heartbeat_s_ago"] <= 6 and worker["queue"] is not None, worker
    assert worker["note"] is None and "note:" not in table  # its server processes run at its niceness
    assert {p["pid"] for p in parts["parts"]} >= {pid for pid, _, _ in descendants(run.proc.pid)
                                                  if _title_part(pid) is not None}


def _title_part(pid: int) -> str | None:
    from sandbox.processes.titles import part_of

    try:
        return part_of(Path(f"/proc/{pid}/cmdline").read_bytes().rstrip(b"\0 ").decode())
    except OSError:
        return None


def test_status_shows_why_the_workers_database_processes_are_not_niced(run):
    """What a worker that could not renice its PostgreSQL server processes wrote at its start
    (tests/process/test_worker_processes.py makes one): a note under the table, and in the
    JSON; the sandbox still serves, so status answers 0."""
    import redis

    from sandbox.health.heartbeat import PRIORITY_KEY
    from sandbox.processes import registry

    recorded = registry.read(run.data_dir)
    assert recorded is not None and recorded.redis_url
    why = "its PostgreSQL server processes run at the server's priority, and only the worker itself at niceness 3: …"
    client = redis.Redis.from_url(recorded.redis_url)
    client.set(PRIORITY_KEY, why)
    try:
        answer = status(run)
        parts = json.loads(status(run, "--json").stdout)
    finally:
        client.delete(PRIORITY_KEY)
        client.close()
    assert answer.returncode == 0, answer.stdout + answer.stderr
    assert f"note: worker: {why}" in answer.stdout.splitlines(), answer.stdout
    assert [p["note"] for p in parts["parts"] if p["note"]] == [why], parts


def test_status_names_the_part_that_is_down_and_answers_non_zero(run):
    """The worker killed while `up` is held (SIGSTOP), so it is not started again meanwhile."""
    worker = next(pid for pid, _, args in descendants(run.proc.pid) if args == "mypay-sandbox: worker")
    os.kill(run.proc.pid, signal.SIGSTOP)
    try:
        os.kill(worker, signal.SIGKILL)
        wait_until(lambda: (stat_of(worker) or ("", "Z", 0))[1] == "Z", 30, "the killed worker to end")
        answer = status(run)
    finally:
        os.kill(run.proc.pid, signal.SIGCONT)
    assert answer.returncode == 1, answer.stdout + answer.stderr
    assert f"worker: down: pid {worker} has ended" in answer.stderr, answer.stderr
    down = [line for line in answer.stdout.splitlines() if "down" in line]
    assert len(down) == 1 and down[0].startswith("worker"), answer.stdout
    # `up` starts it again; status says so once the new worker has reported.
    wait_until(lambda: status(run).returncode == 0, 90, "`sandbox status` to answer 0 again", interval=0.5)


def test_status_without_a_running_up_says_so(tmp_path):
    answer = subprocess.run([sys.executable, "-m", "sandbox.cli", "status"], cwd=REPO,
                            env=clean_env(SANDBOX_DATA_DIR=str(tmp_path)), capture_output=True, text=True,
                            timeout=60, check=False)
    assert answer.returncode == 3, answer.stdout + answer.stderr
    assert f"no `sandbox up` runs on {tmp_path.resolve()}" in answer.stderr
