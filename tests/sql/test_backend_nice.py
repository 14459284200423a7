"""The worker's niceness reaches the PostgreSQL server processes serving its pool
(`sandbox.runtime.backend_nice`): each new connection's backend runs at it, where the server is
this machine's; other pools, other servers and other processes are left alone. Root without
CAP_SYS_NICE (Docker's and Podman's default for a root container) renices them as the
server's own user; where that cannot be done either, the worker says why in its log."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys

import asyncpg
import pytest

from sandbox.runtime.backend_nice import for_pool, over_unix_socket, renice_backend
from sandbox.settings import INSTALL_ROOT

# The pool's hook run on a connection to backend PID of the server DSN names, at niceness
# NICE, in a process of its own (another user's, or one without a capability): the backend's
# niceness then, and what the process logged. The connection stands in (the hook asks it only
# for its backend's pid): the user `nobody` may not open the server's socket.
HOOK = """
import asyncio, json, logging, os, sys
from sandbox.runtime.backend_nice import Refusals, for_pool

dsn, pid, nice = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s", stream=sys.stdout)

class Connection:
    async def fetchval(self, query):
        return pid

asyncio.run(for_pool(nice, dsn)(Connection()))
print(json.dumps({"nice": os.getpriority(os.PRIO_PROCESS, pid), "refused": Refusals.last}))
"""


async def _backend_nices(dsn: str, nice: int, connections: int = 2) -> list[int]:
    pool = await asyncpg.create_pool(dsn, min_size=connections, max_size=connections, init=for_pool(nice, dsn))
    try:
        held = [await pool.acquire() for _ in range(connections)]
        pids = [await c.fetchval("SELECT pg_backend_pid()") for c in held]
        for c in held:
            await pool.release(c)
        return [os.getpriority(os.PRIO_PROCESS, pid) for pid in pids]
    finally:
        await pool.close()


def _local_server(dsn: str) -> None:
    if not over_unix_socket(dsn):
        pytest.skip("the server is reached over TCP: its processes are not this machine's to renice")


async def _hook_in_a_process(dsn: str, nice: int, *prefix: str, user: str | None = None) -> tuple[dict, str]:
    connection = await asyncpg.connect(dsn)
    try:
        pid = await connection.fetchval("SELECT pg_backend_pid()")
        env = {**os.environ, "PYTHONPATH": str(INSTALL_ROOT), "PYTHONSAFEPATH": "1"}
        done = await asyncio.to_thread(subprocess.run, [*prefix, sys.executable, "-c", HOOK, dsn, str(pid), str(nice)],
                                       user=user, env=env, cwd="/", capture_output=True, text=True, timeout=60,
                                       check=False)
    finally:
        await connection.close()
    assert done.returncode == 0, done.stdout + done.stderr
    *logged, result = done.stdout.strip().splitlines()
    return json.loads(result), "\n".join(logged)


async def test_every_backend_of_a_niced_pool_runs_at_its_niceness(stack):
    _local_server(stack.database_url)
    nices = await _backend_nices(stack.database_url, 7)
    if nices != [7, 7] and os.geteuid() != 0:
        pytest.skip("needs the PostgreSQL server to run as this user, or root: its processes are another "
                    "user's, and lowering another user's priority needs CAP_SYS_NICE")
    assert nices == [7, 7]
    assert await _backend_nices(stack.database_url, 0) == [0, 0]  # another pool's are not


async def test_root_without_cap_sys_nice_renices_as_the_servers_user(stack):
    """As in a root container with the default capabilities: the server runs as a user of its
    own, and this process may not renice another user's process itself."""
    _local_server(stack.database_url)
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and util-linux's setpriv, to run a process without CAP_SYS_NICE")
    found, logged = await _hook_in_a_process(stack.database_url, 6, "setpriv", "--bounding-set=-sys_nice",
                                       "--inh-caps=-sys_nice", "--")
    assert found == {"nice": 6, "refused": None}, logged
    assert logged == ""


async def test_a_backend_this_user_may_not_renice_is_left_and_the_worker_says_why(stack):
    """Not root, and the server another user's: the backend stays as it is, and the log says
    that only the worker itself runs niced, and why."""
    _local_server(stack.database_url)
    if os.geteuid() != 0:
        pytest.skip("needs root, to run a process as the user nobody beside the server's")
    found, logged = await _hook_in_a_process(stack.database_url, 5, user="nobody")
    assert found["nice"] == 0, found
    assert "may lower the priority of its own processes only" in found["refused"], found
    assert logged == (f"WARNING the worker: {found['refused']}"), logged
    assert "only the worker itself at niceness 5" in found["refused"]


def test_only_a_server_named_by_its_socket_folder_is_this_machines():
    assert over_unix_socket("postgresql://postgres@/sandbox?host=/tmp/data/postgres")
    assert over_unix_socket("postgresql://postgres@%2Ftmp%2Fdata/sandbox")
    assert not over_unix_socket("postgresql://postgres@127.0.0.1:5432/test")
    assert not over_unix_socket("postgresql://postgres@db:5432/sandbox")  # compose's service
    assert not over_unix_socket("postgresql://u@/db?host=/tmp/a&host=db")  # one host may be elsewhere
    assert for_pool(10, "postgresql://postgres@127.0.0.1:5432/test") is None
    assert for_pool(0, "postgresql://postgres@/sandbox?host=/tmp/data") is None


def test_a_process_that_is_not_postgres_is_never_reniced():
    before = os.getpriority(os.PRIO_PROCESS, os.getpid())
    assert renice_backend(os.getpid(), 12) == f"process {os.getpid()} is not a PostgreSQL server process"
    assert os.getpriority(os.PRIO_PROCESS, os.getpid()) == before
    assert renice_backend(2**22 + 12345, 12) is not None  # no such process
