"""`sandbox listen` and `sandbox logs tail` take the merchant's key from SANDBOX_API_KEY as well
as from --key (the option wins), so a key need not stand in `ps` or a shell's history."""

from __future__ import annotations

import argparse

import pytest

from sandbox.client import stream_commands
from seeds.seed import DEMO_MERCHANTS

OTHER = "sk_test_from_the_environment_000000000001"


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    stream_commands.add_commands(sub, lambda p: p.add_argument("--url"), lambda args: args.url)
    return parser.parse_args(list(argv))


@pytest.mark.parametrize("command", [["listen", "--print-secret"], ["logs", "tail"]])
def test_the_key_comes_from_the_option_then_the_environment_then_the_demo(command, monkeypatch) -> None:
    monkeypatch.delenv("SANDBOX_API_KEY", raising=False)
    assert stream_commands._key(parse(*command)) == DEMO_MERCHANTS[0][2]
    monkeypatch.setenv("SANDBOX_API_KEY", OTHER)
    assert stream_commands._key(parse(*command)) == OTHER
    assert stream_commands._key(parse(*command, "--key", "sk_test_given")) == "sk_test_given"
