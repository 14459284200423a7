"""The commands that talk to a running sandbox (`sandbox coverage`, `sandbox trigger`),
run as a user runs them, as a process against the suite's API: whatever goes wrong ends
in one line on stderr, with the problem's title, detail and code when the sandbox
refused, and status 1; never a traceback."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import free_port, new_merchant

SANDBOX = str(Path(sys.executable).with_name("sandbox"))  # the console script the package installs


async def run_cli(*argv: str) -> tuple[int, str, str]:
    """The API serves in this event loop meanwhile, hence a subprocess it does not wait on."""
    proc = await asyncio.create_subprocess_exec(SANDBOX, *argv, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    return proc.returncode, out.decode(), err.decode()


def one_line_failure(code: int, err: str) -> str:
    assert code == 1, err
    assert "Traceback" not in err, err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("sandbox: "), err
    return lines[0]


COMMANDS = {"coverage": ["coverage"], "trigger": ["trigger", "success"]}


async def test_trigger_beyond_the_balance_says_the_problem(stack):
    """A merchant whose balance is below the default amount (1500.00)."""
    poor, _ = await new_merchant(stack, opening_balance="100.00")
    try:
        code, _, err = await run_cli("trigger", "success", "--key", poor.key, "--url", stack.base_url)
        line = one_line_failure(code, err)
        assert line.startswith("sandbox: POST /api/v1/payouts answered 422: The available balance is too low: ")
        assert line.endswith("(code insufficient_funds)")
        assert (await poor.get("/payouts")).json()["data"] == []
    finally:
        await poor.aclose()


async def test_unknown_scenario_is_refused(stack, merchant):
    code, _, err = await run_cli("trigger", "nope", "--key", merchant.key, "--url", stack.base_url)
    line = one_line_failure(code, err)
    assert line.startswith("sandbox: no scenario 'nope'; the sandbox has success, ")
    assert (await merchant.get("/payouts")).json()["data"] == []


@pytest.mark.parametrize("command", COMMANDS)
async def test_a_bad_key_is_refused(stack, command):
    code, _, err = await run_cli(*COMMANDS[command], "--key", "sk_test_nobody", "--url", stack.base_url)
    line = one_line_failure(code, err)
    assert " answered 401: Authentication failed" in line and line.endswith("(code unauthenticated)")


@pytest.mark.parametrize("command", COMMANDS)
async def test_an_unknown_endpoint_is_refused(stack, merchant, command):
    code, _, err = await run_cli(*COMMANDS[command], "--key", merchant.key, "--url", stack.base_url + "/nope")
    line = one_line_failure(code, err)
    assert " /nope/api/v1/" in line and " answered 404" in line


@pytest.mark.parametrize("command", COMMANDS)
async def test_an_unreachable_sandbox(command):
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    code, _, err = await run_cli(*COMMANDS[command], "--key", "sk_test_any", "--url", url)
    assert one_line_failure(code, err).startswith(f"sandbox: cannot reach {url}: ")


def test_a_project_with_its_own_seeds_package_is_no_obstacle(tmp_path):
    """`sandbox trigger` reads the demo key from the sandbox's own `seeds`, not from the
    one of the project it runs in (here first on PYTHONPATH, as many projects set it)."""
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "__init__.py").write_text("")
    url = f"http://127.0.0.1:{free_port()}"
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    done = subprocess.run([SANDBOX, "trigger", "--list", "--url", url], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert one_line_failure(done.returncode, done.stderr).startswith(f"sandbox: cannot reach {url}: ")
