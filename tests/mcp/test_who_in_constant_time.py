"""Who is calling, at a cost that does not grow with the machine's processes: a loopback
client's new connection is identified from its socket (one netlink question) and the
descriptors of the processes already known as clients, never a walk of every process's
/proc/PID/fd (which took 100-230 ms of the one event loop per connection, issue 92), and
off the event loop. With 100 other processes running, a second connection of a known
client lists one descriptor folder; the time each identification took is printed (the
bench's `--mcp-fairness` measures a request on a new connection against a kept one)."""

from __future__ import annotations

import inspect
import os
import socket
import subprocess
import sys
import time

import pytest

from sandbox.mcp.fairness import peers as peers_module
from sandbox.mcp.fairness.peers import Peers

pytestmark = pytest.mark.process  # starts 100 processes

OTHERS = 100


async def _who(peers: Peers, scope: dict) -> str:
    name = peers.who(scope)
    return await name if inspect.isawaitable(name) else name


async def test_a_known_clients_new_connection_lists_no_other_process(monkeypatch):
    others = [subprocess.Popen(["sleep", "600"]) for _ in range(OTHERS)]  # noqa: ASYNC220  (starts at once)
    listed: list[str] = []
    real = os.listdir

    def counting(path):
        listed.append(str(path))
        return real(path)

    try:
        peers = Peers()
        with socket.socket() as server:
            server.bind(("127.0.0.1", 0))
            server.listen()
            names, took = [], []
            for n in range(3):
                with socket.create_connection(server.getsockname()) as client:
                    scope = {"client": client.getsockname(), "server": server.getsockname(), "headers": []}
                    if n == 1:
                        monkeypatch.setattr(peers_module.os, "listdir", counting)
                    started = time.perf_counter()
                    names.append(await _who(peers, scope))
                    took.append((time.perf_counter() - started) * 1000)
            print(f"\nidentifying a loopback client with {OTHERS} other processes running: first connection "
                  f"{took[0]:.1f} ms, then {took[1]:.1f} ms and {took[2]:.1f} ms")
        assert names == [f"process {os.getpid()}"] * 3
        # The second and third connections: this process's own descriptors only, once each.
        assert listed == [f"/proc/{os.getpid()}/fd"] * 2, listed[:5]
    finally:
        for other in others:
            other.kill()
        for other in others:
            other.wait()


async def test_a_burst_of_a_new_clients_connections_all_name_its_process():
    """Identified at once, in worker threads: one scans, the others find the process it found
    (a scan that skipped the processes another thread had just named called them users)."""
    import asyncio

    peers = Peers()
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        clients = [socket.create_connection(server.getsockname()) for _ in range(8)]
        try:
            names = await asyncio.gather(*(_who(peers, {"client": c.getsockname(), "server": server.getsockname(),
                                                         "headers": []}) for c in clients))
        finally:
            for client in clients:
                client.close()
    assert names == [f"process {os.getpid()}"] * 8


async def test_a_port_another_process_takes_over_is_named_for_that_process():
    """A port the server closed first is free at once on the client's side: another process's
    next connection may take it. It is that process, not the one that used the port before
    (named by the port, the polite client of the fairness bench was once taken for the greedy
    one, at its cap, and refused)."""
    import asyncio

    peers = Peers()
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname()) as mine:
            port = mine.getsockname()[1]
            scope = {"client": mine.getsockname(), "server": server.getsockname(), "headers": []}
            assert await _who(peers, scope) == f"process {os.getpid()}"
            accepted, _ = server.accept()
            accepted.close()  # the server's side first: the client's port is free once it closes too
        other = subprocess.Popen(  # noqa: ASYNC220  (starts at once)
            [sys.executable, "-c", (
                "import socket, sys, time\n"
                "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
                f"s.bind(('127.0.0.1', {port})); s.connect({server.getsockname()!r})\n"
                "print('connected', flush=True); time.sleep(60)")],
            stdout=subprocess.PIPE, text=True)
        try:
            line = await asyncio.wait_for(asyncio.to_thread(other.stdout.readline), 30)
            assert line.strip() == "connected"
            assert await _who(peers, scope) == f"process {other.pid}"  # the same address and port
        finally:
            other.kill()
            other.wait()
