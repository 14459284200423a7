"""`sandbox bench --startup` and `sandbox bench --image TAG`: how long a user waits for a
fresh sandbox, each figure the median and the worst of several starts.

--startup: `sandbox up` on a fresh data dir (free ports, time scale 0) until /ready
answers 200, timed from the command; /ready is 200 only when every part serves (the API,
the IPN, the worker). Then the pytest plugin's own sandbox, from pytest's session start
(its plugins loaded) and from the command to its first test, and pytest alone (the same
test without the sandbox): what pytest and this environment's other plugins cost before
the session starts. The start-up template (sandbox/runtime/template.py) is made first and
not timed: it is made once per installed version. Then the first start after an install,
beside the later ones: `sandbox up` with an empty cache dir, which serves from its own
initdb's cluster and makes the template after /ready (up's ready line says how long
PostgreSQL took after the processes were forked), and `first_over_later`, its median over
theirs.

--image TAG: the image's size, apart: its base (the image its label
org.opencontainers.image.base.name names, or --base) and the layers the Containerfile
adds; and `run` with a fresh volume until healthy: /api/v1/ready answers 200, which is
what its HEALTHCHECK asks (the engine itself says so only at its next check, every 2 s).
`--build` builds TAG from the Containerfile in this directory first and times it.
`--engine` is the container command (default docker, else podman), e.g.
"podman --runtime runc"."""

from __future__ import annotations

import argparse
import json
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sandbox.bench.harness import report
from sandbox.bench.harness.procs import free_port, say, spawn, stop, wait_http
from sandbox.settings import child_env, get_settings

RUNS = 5  # each figure is the median and the worst of this many starts (--runs)
FIRST_RUNS = 3  # first starts (an empty cache: each makes the template), at most this many
IMAGE_RUNS = 5
WORST_OVER_MEDIAN = 1.5  # a start's worst of RUNS may take this many times its median
STARTUP_GOALS = (
    ("sandbox up, fresh data dir, to /ready, every part (median) <= 1.0 s", "up_ready_s", "<=", 1.0),
    (f"sandbox up: worst <= {WORST_OVER_MEDIAN} x median", "up_worst_over_median", "<=", WORST_OVER_MEDIAN),
    ("pytest plugin's own sandbox, session start to first test (median) <= 1.5 s",
     "plugin_session_to_first_test_s", "<=", 1.5),
    (f"pytest plugin: worst <= {WORST_OVER_MEDIAN} x median", "plugin_worst_over_median", "<=", WORST_OVER_MEDIAN),
)
IMAGE_GOALS = (
    ("image run, fresh volume, to healthy (median) <= 1.0 s", "image_healthy_s", "<=", 1.0),
    (f"image: worst <= {WORST_OVER_MEDIAN} x median", "image_worst_over_median", "<=", WORST_OVER_MEDIAN),
    ("layers the Containerfile adds to its base <= 200 MB", "image_added_mb", "<=", 200.0),
)
BASE_LABEL = "org.opencontainers.image.base.name"
PLUGIN_TEST = '''
import time


def test_first({fixture}):
    with open({stamp!r}, "w") as f:
        f.write(repr(time.time()))
'''
# pytest's session start (after its plugins are loaded, before collection): from here on
# the time is the plugin's (its sandbox) and the test's, not pytest's own start.
SESSION_CONFTEST = '''
import time


def pytest_sessionstart(session):
    with open({stamp!r}, "w") as f:
        f.write(repr(time.time()))
'''


def spread(times: list[float]) -> tuple[float, float, float]:
    """Median, worst, and worst over median."""
    median = statistics.median(times)
    return round(median, 2), round(max(times), 2), round(max(times) / median, 2) if median else 0.0


def _up_once(work: Path, first: bool = False) -> float:
    """`sandbox up` on a new data dir until /ready answers 200 (every part serving), in
    seconds from the command. `first`: with an empty cache dir of its own, as the first start
    after an install (it makes the start-up template first)."""
    api, ipn = free_port(), free_port()
    # The IPN URL too: a caller's (the test suite's own IPN) would be where /ready looks.
    env = child_env(("SANDBOX_DATABASE_URL", "SANDBOX_REDIS_URL", "SANDBOX_ADMIN_KEY", "SANDBOX_IPN_URL"), {
        "SANDBOX_DATA_DIR": str(work / "data"), "SANDBOX_API_PORT": str(api), "SANDBOX_IPN_PORT": str(ipn),
        "SANDBOX_TIME_SCALE": "0", **({"SANDBOX_CACHE_DIR": str(work / "cache")} if first else {})})
    log = work / "up.log"
    started = time.monotonic()
    proc = spawn([sys.executable, "-m", "sandbox.cli", "up"], env, log)
    try:
        # Asked every 10 ms: the figure is when /ready first answered, not when a coarse poll saw it.
        wait_http(f"http://127.0.0.1:{api}/api/v1/ready", proc, log, interval=0.01)
        took = time.monotonic() - started
        # Where the time went, by `up`'s own account ("ready in …s (servers …s, …)").
        deadline = time.monotonic() + 30
        # Greedy, to the line's last "); ": a first start's PostgreSQL says its template's steps in parentheses.
        while not (found := re.search(r"ready in [\d.]+s \((.*)\);", log.read_text(errors="replace"))):
            if time.monotonic() > deadline or proc.poll() is not None:
                break
            time.sleep(0.05)
    finally:
        stop(proc)
    if found:
        say(f"    {found.group(1)}")
    return took


def _plugin_once(work: Path, fixture: str = "mypay_sandbox") -> tuple[float, float]:
    """`pytest` with the plugin starting its own sandbox: seconds until its first test runs,
    from the command and from pytest's session start (with `fixture=""`: pytest alone, what
    this environment's plugins cost before any sandbox)."""
    stamp, session = work / "first-test", work / "session-start"
    (work / "test_first.py").write_text(PLUGIN_TEST.format(fixture=fixture, stamp=str(stamp)))
    (work / "conftest.py").write_text(SESSION_CONFTEST.format(stamp=str(session)))
    env = child_env(("MYPAY_SANDBOX_URL", "MYPAY_ADMIN_KEY", "SANDBOX_DATABASE_URL", "SANDBOX_REDIS_URL",
                     "SANDBOX_IPN_URL"), {})
    started = time.time()
    ran = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(work / "test_first.py")],
                         cwd=work, env=env, capture_output=True, text=True, timeout=300)
    if ran.returncode != 0:
        raise RuntimeError(f"pytest exited {ran.returncode}:\n{ran.stdout}{ran.stderr}")
    first = float(stamp.read_text())
    return first - started, first - float(session.read_text())


def _median_of(what: str, once, runs: int) -> tuple[float, list[float]]:
    times = []
    for i in range(runs):
        with tempfile.TemporaryDirectory(prefix="sandbox-startup-") as work:
            times.append(round(once(Path(work)), 2))
        say(f"  {what} {i + 1}/{runs}: {times[-1]:.2f}s")
    return round(statistics.median(times), 2), times


def _pair_median_of(what: str, once, runs: int) -> dict:
    """`once` gives (from the command, from pytest's session start): the medians of each."""
    pairs = []
    for i in range(runs):
        with tempfile.TemporaryDirectory(prefix="sandbox-startup-") as work:
            pairs.append(tuple(round(t, 2) for t in once(Path(work))))
        say(f"  {what} {i + 1}/{runs}: {pairs[-1][0]:.2f}s from the command, {pairs[-1][1]:.2f}s from session start")
    return {"from_command_s": round(statistics.median(p[0] for p in pairs), 2),
            "from_session_s": round(statistics.median(p[1] for p in pairs), 2),
            "from_session_runs_s": [p[1] for p in pairs]}


def startup(runs: int) -> dict:
    from sandbox.bench.harness import cpu
    from sandbox.runtime import template

    reference = cpu.reference_ms()  # before anything loads the machine
    started = time.monotonic()
    made = template.ensure(get_settings().cache_dir)
    say(f"start-up template {made} ready in {time.monotonic() - started:.2f}s (made once per installed version)")
    _, up_runs = _median_of("sandbox up to /ready (every part)", _up_once, runs)
    # The first start after an install, beside the later ones: an empty cache each time.
    _, first_runs = _median_of("first sandbox up (empty cache: its own initdb, the template after) to /ready",
                               lambda work: _up_once(work, first=True), min(runs, FIRST_RUNS))
    plugin = _pair_median_of("pytest plugin to first test", _plugin_once, runs)
    alone = _pair_median_of("pytest alone (no sandbox) to first test", lambda work: _plugin_once(work, ""), runs)
    up_s, up_worst, up_ratio = spread(up_runs)
    plugin_s, plugin_worst, plugin_ratio = spread(plugin["from_session_runs_s"])
    first_s = round(statistics.median(first_runs), 2)
    return {"reference_loop_ms": reference,
            "up_ready_s": up_s, "up_worst_s": up_worst, "up_worst_over_median": up_ratio, "up_runs_s": up_runs,
            "first_up_ready_s": first_s, "first_up_runs_s": first_runs,
            "first_over_later": round(first_s / up_s, 2) if up_s else None,
            "plugin_session_to_first_test_s": plugin_s, "plugin_worst_s": plugin_worst,
            "plugin_worst_over_median": plugin_ratio, "plugin_session_runs_s": plugin["from_session_runs_s"],
            "plugin_command_to_first_test_s": plugin["from_command_s"],
            "pytest_alone_command_to_first_test_s": alone["from_command_s"],
            "pytest_alone_session_to_first_test_s": alone["from_session_s"]}


def _engine(args: argparse.Namespace) -> list[str]:
    if args.engine:
        return shlex.split(args.engine)
    for name in ("docker", "podman"):
        if shutil.which(name):
            return [name]
    raise SystemExit("sandbox bench --image: neither docker nor podman found (or give --engine)")


def _image_run_once(engine: list[str], image: str) -> float:
    """Seconds from `run` (a fresh volume) until healthy: /api/v1/ready answers 200, what
    the image's HEALTHCHECK asks, polled every 10 ms (the engine's own checks run every 2 s)."""
    import httpx

    name = f"sandbox-bench-{uuid.uuid4().hex[:8]}"
    api, ipn = free_port(), free_port()
    started = time.monotonic()
    # The host's network and free ports: the figure is the image's, not a port proxy's.
    subprocess.run([*engine, "run", "-d", "--name", name, "--network", "host", "-v", f"{name}:/data",
                    "-e", f"SANDBOX_API_PORT={api}", "-e", f"SANDBOX_IPN_PORT={ipn}", image],
                   check=True, stdout=subprocess.DEVNULL)
    try:
        deadline = started + 120
        with httpx.Client(timeout=2) as client:
            while True:
                try:
                    if client.get(f"http://127.0.0.1:{api}/api/v1/ready").status_code == 200:
                        return time.monotonic() - started
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{image} was not healthy within 120 s")
                time.sleep(0.01)  # the figure is when /ready first answered, not when a coarse poll saw it
    finally:
        subprocess.run([*engine, "rm", "-f", "-t", "10", name], stdout=subprocess.DEVNULL, check=False)
        subprocess.run([*engine, "volume", "rm", "-f", name], stdout=subprocess.DEVNULL, check=False)


def _inspect(engine: list[str], image: str) -> dict | None:
    found = subprocess.run([*engine, "image", "inspect", image], capture_output=True, text=True, check=False)
    return json.loads(found.stdout)[0] if found.returncode == 0 else None


def sizes(engine: list[str], image: str, base: str | None = None) -> dict:
    """The image's size in MB, and apart its base's (`base`, else the image its base.name
    label names, when that is here) and what the Containerfile's layers add to it."""
    inspected = _inspect(engine, image)
    if inspected is None:
        raise SystemExit(f"sandbox bench --image: no image {image} here (build it, or add --build)")
    total = int(inspected["Size"])
    base = base or ((inspected.get("Config") or {}).get("Labels") or {}).get(BASE_LABEL)
    based = _inspect(engine, base) if base else None
    if based is None:
        say(f"  the base image {base or '(no ' + BASE_LABEL + ' label: give --base)'} is not here: its size and "
            "the added layers' are not told apart")
        return {"image_mb": round(total / 1e6), "base": base, "base_mb": None, "image_added_mb": None}
    return {"image_mb": round(total / 1e6), "base": base, "base_mb": round(int(based["Size"]) / 1e6),
            "image_added_mb": round((total - int(based["Size"])) / 1e6)}


def image(args: argparse.Namespace) -> dict:
    engine = _engine(args)
    result: dict = {"image": args.image, "engine": " ".join(engine)}
    if args.build:
        started = time.monotonic()
        subprocess.run([*engine, "build", *shlex.split(args.build_args or ""), "-t", args.image, "."], check=True)
        result["build_s"] = round(time.monotonic() - started, 1)
        say(f"built {args.image} in {result['build_s']}s")
    result.update(sizes(engine, args.image, args.base))
    runs = args.runs or IMAGE_RUNS
    starts = []
    for i in range(runs):
        starts.append(round(_image_run_once(engine, args.image), 2))
        say(f"  run {i + 1}/{runs}: healthy (/ready 200) after {starts[-1]:.2f}s")
    result["image_healthy_s"], result["image_worst_s"], result["image_worst_over_median"] = spread(starts)
    result["image_runs_s"] = starts
    return result


def main(args: argparse.Namespace) -> int:
    result: dict = {}
    goals: list = []
    if args.startup:
        result.update(startup(args.runs or RUNS))
        goals += STARTUP_GOALS
    if args.image:
        result.update(image(args))
        goals += IMAGE_GOALS
    result["goals"] = report.judge(goals, result)
    for key, value in result.items():
        if key != "goals":
            print(f"  {key:<22} {value}")
    print("\n".join(report.goal_lines(result["goals"], width=62)))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--startup", action="store_true",
                        help="instead of the phases: `sandbox up` on a fresh data dir to /ready (every part "
                             "serving), and the pytest plugin's own sandbox to its first test, each the median and "
                             f"the worst of {RUNS} (sandbox/bench/startup.py)")
    parser.add_argument("--image", metavar="TAG",
                        help="instead of the phases: the image's size (its base's and the added layers' apart) "
                             f"and `run` on a fresh volume to healthy (median and worst of {IMAGE_RUNS}); "
                             "with --build, build TAG from the Containerfile here first")
    parser.add_argument("--runs", type=int,
                        help=f"--startup, --image: starts per figure, the median and worst reported (default {RUNS})")
    parser.add_argument("--build", action="store_true", help="--image: build it first and time the build")
    parser.add_argument("--build-args", help="--image --build: more arguments for `build`, e.g. "
                                             "\"--build-arg BASE=localhost/debian-python:bookworm\"")
    parser.add_argument("--base", help="--image: the image TAG was built on, when its "
                                       f"{BASE_LABEL} label does not name it")
    parser.add_argument("--engine", help="--image: the container command (default docker, else podman), "
                                         "e.g. \"podman --runtime runc\"")

