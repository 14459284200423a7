"""`sandbox bench --mcp-fairness`: a polite MCP client beside a greedy one (issue 92).

Starts a fresh stack (embedded PostgreSQL and Redis, `sandbox api`), `sandbox mcp --http`
over it with the admin key, and OTHERS idle processes (`sleep`: who is calling must not
cost more with them), then runs two clients, each a process of its own (on loopback a
client is its process):

- the polite client, every PACE_S: a handshake (`initialize`, then its session ended with
  DELETE), a discovery (`server/discover`), a tool call (`list_payouts` with its merchant's
  handle) on a kept-alive connection, and the same call on a new connection;
- the greedy client, during the `during` phases only, every mode at once and each at its
  caps: new connections (a call on a fresh connection each time), concurrent calls on
  kept-alive connections, handshakes (sessions kept), slow bodies (a byte every second),
  huge bodies (256 KiB of padding) and malformed ones; refused requests are sent again at
  once. At the end it ends the sessions it opened, as the SDK's client does when it closes.

Phases: before, then `--rounds` times during and after, each `--duration` seconds. Printed:
the polite client's p50 and p99 per kind and phase, how many were refused or failed, and
the server's resident memory and open descriptors at each phase's end, with the load
average. Raw HTTP (httpx) rather than the SDK's client: what is timed is the request.

    uv run sandbox bench --mcp-fairness [--duration 20] [--rounds 2] [--mcp-root CHECKOUT]

`--mcp-root` runs the MCP server of another checkout (its .venv's `sandbox`), to compare
with an older version on the same stack."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

PACE_S = 0.2  # the polite client's pace: one round of its four requests
OTHERS = 100  # idle processes running beside the server
MODERN = "2026-07-28"
HANDSHAKE = "2025-11-25"
ACCEPT = "application/json, text/event-stream"
KINDS = ("handshake", "discovery", "call", "call, new connection")


def _meta() -> dict:
    return {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {}}


def _call_body(tool: str, arguments: dict) -> dict:
    return {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": tool, "arguments": arguments, "_meta": _meta()}}


def _call_headers(tool: str) -> dict:
    return {"Accept": ACCEPT, "Content-Type": "application/json", "MCP-Protocol-Version": MODERN,
            "Mcp-Method": "tools/call", "Mcp-Name": tool}


INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": HANDSHAKE, "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}}
DISCOVER = {"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {"_meta": _meta()}}
DISCOVER_HEADERS = {"Accept": ACCEPT, "Content-Type": "application/json", "MCP-Protocol-Version": MODERN,
                    "Mcp-Method": "server/discover"}


def _result(text: str) -> dict:
    if "data:" in text:
        text = next(line[5:] for line in text.splitlines() if line.startswith("data:"))
    return json.loads(text)


# --- the clients (each run as `python -m sandbox.bench.mcp_fairness polite|greedy URL …`) -------------------------

async def polite(url: str, seconds: float) -> list[tuple[float, str, float, str]]:
    """(when, kind, seconds, outcome) of each request, for `seconds`."""
    import httpx

    said: list[tuple[float, str, float, str]] = []
    # A connection per request, from one client: what is timed is the server's cost of a new
    # connection, not the client's (a new httpx client builds a TLS context: tens of ms).
    once = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=60) as kept, httpx.AsyncClient(timeout=60, limits=once) as fresh:
        made = await kept.post(url, json=_call_body("new_merchant", {"clock": "manual"}),
                               headers=_call_headers("new_merchant"))
        merchant = _result(made.text).get("result", {}).get("structuredContent")
        if not merchant:
            raise SystemExit(f"the polite client got no merchant: {made.status_code} {made.text[:500]}")
        handle = merchant["handle"]
        call = _call_body("list_payouts", {"merchant": handle, "limit": 5})

        async def timed(kind: str, work) -> None:
            started = time.monotonic()
            try:
                outcome = await work()
            except Exception as exc:  # noqa: BLE001  (a failure is a figure here, in words)
                outcome = f"failed: {type(exc).__name__}"
            said.append((time.time(), kind, time.monotonic() - started, outcome))

        async def handshake() -> str:
            answer = await kept.post(url, json=INITIALIZE, headers={"Accept": ACCEPT})
            session = answer.headers.get("mcp-session-id")
            if session:
                await kept.delete(url, headers={"Mcp-Session-Id": session, "MCP-Protocol-Version": HANDSHAKE})
            return "ok" if answer.status_code == 200 and session else f"refused {answer.status_code}"

        async def discovery() -> str:
            answer = await kept.post(url, json=DISCOVER, headers=DISCOVER_HEADERS)
            return "ok" if answer.status_code == 200 and "result" in _result(answer.text) else \
                f"refused {answer.status_code}"

        async def tool_call(client) -> str:
            answer = await client.post(url, json=call, headers=_call_headers("list_payouts"))
            if answer.status_code != 200:
                return f"refused {answer.status_code}"
            return "failed: tool error" if _result(answer.text)["result"].get("isError") else "ok"

        ends = time.monotonic() + seconds
        while time.monotonic() < ends:
            next_at = time.monotonic() + PACE_S
            await timed("handshake", handshake)
            await timed("discovery", discovery)
            await timed("call", lambda: tool_call(kept))
            await timed("call, new connection", lambda: tool_call(fresh))
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))  # the client's own pace
    return said


async def greedy(url: str, stop_file: str) -> dict[str, int]:
    """Every greedy mode at once until `stop_file` exists; then its sessions ended."""
    import httpx

    host = url.split("//", 1)[1].split("/", 1)[0]
    ip, port = host.rsplit(":", 1)
    counts: dict[str, int] = {}
    sessions: list[str] = []

    def count(what: str) -> None:
        counts[what] = counts.get(what, 0) + 1

    def going() -> bool:
        return not os.path.exists(stop_file)

    async def new_connections(fresh) -> None:
        while going():
            answer = await fresh.post(url, json=_call_body("whoami", {}), headers=_call_headers("whoami"))
            count(f"new connection {answer.status_code}")

    async def concurrent_calls(http) -> None:
        while going():
            answer = await http.post(url, json=_call_body("list_payouts", {}), headers=_call_headers("list_payouts"))
            count(f"call {answer.status_code}")

    async def handshakes(http) -> None:
        while going():
            answer = await http.post(url, json=INITIALIZE, headers={"Accept": ACCEPT})
            if answer.headers.get("mcp-session-id"):
                sessions.append(answer.headers["mcp-session-id"])
            count(f"handshake {answer.status_code}")

    async def slow_body() -> None:
        while going():
            try:
                reader, writer = await asyncio.open_connection(ip, int(port))
                writer.write(f"POST /mcp HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                             f"Accept: {ACCEPT}\r\nContent-Length: 200\r\n\r\n".encode())
                for _ in range(10):
                    if not going() or reader.at_eof():
                        break
                    writer.write(b" ")
                    await writer.drain()
                    await asyncio.sleep(1.0)  # the slowness is the mode
                writer.close()
                count("slow body")
            except OSError:
                count("slow body refused")

    async def huge_and_malformed(http) -> None:
        pad = "x" * (250 * 1024)
        while going():
            huge = await http.post(url, content=json.dumps({**_call_body("whoami", {}), "pad": pad}),
                                   headers=_call_headers("whoami"))
            count(f"huge {huge.status_code}")
            bad = await http.post(url, content=b"{" * 200_000, headers=_call_headers("whoami"))
            count(f"malformed {bad.status_code}")

    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    once = httpx.Limits(max_keepalive_connections=0)  # a new connection for every request
    async with httpx.AsyncClient(timeout=60, limits=limits) as http, \
            httpx.AsyncClient(timeout=60, limits=once) as fresh:
        tasks = [new_connections(fresh), new_connections(fresh), handshakes(http), handshakes(http), slow_body(),
                 slow_body(), huge_and_malformed(http), *(concurrent_calls(http) for _ in range(8))]
        await asyncio.gather(*tasks, return_exceptions=True)
        for session in sessions:
            await http.delete(url, headers={"Mcp-Session-Id": session, "MCP-Protocol-Version": HANDSHAKE})
    return counts


# --- the run --------------------------------------------------------------------------------------------------------

def _server_state(pid: int) -> tuple[int, int]:
    """The server's resident memory (KiB) and its open descriptors."""
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return int(status["VmRSS"].split()[0]), len(os.listdir(f"/proc/{pid}/fd"))


def _p(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def main(args: argparse.Namespace) -> int:
    from sandbox.bench.harness.procs import free_port, say, spawn
    from sandbox.bench.harness.stack import serve_api, start_stack, stop_stack

    stack = start_stack(args)
    others = [subprocess.Popen(["sleep", "600"]) for _ in range(OTHERS)]
    stop_file = stack.data_dir / "greed-ends"
    try:
        serve_api(stack)
        sandbox = str(Path(args.mcp_root) / ".venv" / "bin" / "sandbox") if args.mcp_root else \
            str(Path(sys.executable).with_name("sandbox"))
        port = free_port()
        url = f"http://127.0.0.1:{port}/mcp"
        mcp_log = stack.logs / "mcp.log"
        server = spawn([sandbox, "mcp", "--http", "--port", str(port), "--url", stack.api_url, "--admin-key",
                        stack.admin_key], stack.env, mcp_log)
        stack.procs.append(server)
        _wait_listening(port, server, mcp_log)
        phases = ["before"] + [name for n in range(args.rounds) for name in (f"during {n + 1}", f"after {n + 1}")]
        total = args.duration * len(phases)
        say(f"mcp fairness: {sandbox} mcp --http, {OTHERS} idle processes beside it, {len(phases)} phases of "
            f"{args.duration:g} s")
        polite_out = stack.data_dir / "polite.json"
        polite_proc = subprocess.Popen([sys.executable, "-m", "sandbox.bench.mcp_fairness", "polite", url,
                                        str(total), str(polite_out)], env=stack.env)
        marks: list[tuple[str, float, float]] = []  # (phase, start, end) in wall time
        states: dict[str, tuple[int, int]] = {}
        loads: dict[str, float] = {}
        start_state = _server_state(server.pid)
        greedy_proc = None
        for phase in phases:
            began = time.time()
            if phase.startswith("during"):
                stop_file.unlink(missing_ok=True)
                greedy_proc = subprocess.Popen([sys.executable, "-m", "sandbox.bench.mcp_fairness", "greedy", url,
                                                str(stop_file)], env=stack.env, stdout=subprocess.PIPE, text=True)
            time.sleep(args.duration)  # the phase runs: the clients act, this process only watches the clock
            if greedy_proc is not None:
                stop_file.touch()
                out, _ = greedy_proc.communicate(timeout=120)
                say(f"  greedy, {phase}: {out.strip().splitlines()[-1] if out.strip() else 'no output'}")
                greedy_proc = None
            marks.append((phase, began, time.time()))
            states[phase] = _server_state(server.pid)
            loads[phase] = os.getloadavg()[0]
        polite_proc.wait(timeout=total + 120)
        said = json.loads(polite_out.read_text())
    finally:
        stop_file.touch()
        for other in others:
            other.kill()
        for other in others:
            other.wait()
        stop_stack(stack, keep=False)
    print(_render(said, marks, states, start_state, loads, sandbox))
    return 0


def _wait_listening(port: int, proc: subprocess.Popen, log: Path) -> None:
    import socket

    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"sandbox mcp --http exited with {proc.returncode}; see {log}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        if time.monotonic() > deadline:
            raise TimeoutError(f"sandbox mcp --http did not listen within 60 s; see {log}")
        time.sleep(0.1)  # polling a condition, bounded by the deadline above


def _render(said: list, marks: list[tuple[str, float, float]], states: dict[str, tuple[int, int]],
            start_state: tuple[int, int], loads: dict[str, float], sandbox: str) -> str:
    lines = [f"mcp fairness ({sandbox}): the polite client's latency in ms, p50 / p99 (n; refused or failed)",
             f"  {'phase':<10}" + "".join(f"{kind:>30}" for kind in KINDS) + f"{'RSS MiB':>10}{'fds':>6}{'load':>6}",
             f"  {'start':<10}" + " " * 30 * len(KINDS) + f"{start_state[0] / 1024:>10.1f}{start_state[1]:>6}"]
    for phase, began, ended in marks:
        row = f"  {phase:<10}"
        for kind in KINDS:
            mine = [(s, o) for when, k, s, o in said if k == kind and began <= when < ended]
            ok = [s * 1000 for s, o in mine if o == "ok"]
            bad = len(mine) - len(ok)
            cell = f"{_p(ok, 50):.0f} / {_p(ok, 99):.0f} ({len(mine)}; {bad})" if ok else f"- ({len(mine)}; {bad})"
            row += f"{cell:>30}"
        rss, fds = states[phase]
        lines.append(row + f"{rss / 1024:>10.1f}{fds:>6}{loads[phase]:>6.1f}")
    outcomes = sorted({o for _, _, _, o in said if o != "ok"})
    lines.append(f"  refused or failed, by outcome: {outcomes or 'none'}")
    return "\n".join(lines)


if __name__ == "__main__":
    if sys.argv[1] == "polite":
        found = asyncio.run(polite(sys.argv[2], float(sys.argv[3])))
        Path(sys.argv[4]).write_text(json.dumps(found))
    else:
        print(json.dumps(asyncio.run(greedy(sys.argv[2], sys.argv[3]))))
