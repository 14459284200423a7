"""`sandbox pact verify` against a running sandbox, on the pact examples/pact-python's
consumer tests record: as recorded it verifies (exit 0); made wrong (200 where the API
answers 201, a webhook field the sandbox never sends) it fails naming both (exit 1); and
what cannot be verified at all exits 2."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "pact-python"


async def run(*args: str, env: dict | None = None, cwd: Path | None = None) -> tuple[int, str]:
    # Its own process: the verifier blocks, and the API answering it runs in this event loop.
    proc = await asyncio.create_subprocess_exec(*args, env={**os.environ, **(env or {})}, cwd=cwd,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode()


async def verify(stack, *args: str) -> tuple[int, str]:
    return await run(sys.executable, "-m", "sandbox.cli", "pact", "verify", "--url", stack.base_url,
                     "--admin-key", stack.admin_key, *args)


@pytest.fixture(scope="module")
async def example_pact(tmp_path_factory) -> str:
    """The example consumer's pact, recorded once by its own tests."""
    folder = tmp_path_factory.mktemp("example-pact")
    code, out = await run(sys.executable, "-m", "pytest", "-q", "test_consumer.py", env={"PACT_DIR": str(folder)},
                          cwd=EXAMPLE)
    assert code == 0, out
    return (folder / "payout-console-python-MyPay.json").read_text()


@pytest.fixture
def pact_file(example_pact, tmp_path) -> Path:
    path = tmp_path / "payout-console-python-MyPay.json"
    path.write_text(example_pact)
    return path


def made_wrong(pact_file: Path) -> None:
    pact = json.loads(pact_file.read_text())
    for interaction in pact["interactions"]:
        if interaction["description"] == "a new payout":
            interaction["response"]["status"] = 200
        if interaction["description"] == "a payout.failed webhook":
            interaction["contents"]["content"]["data"]["failure_reason"] = "closed"
    pact_file.write_text(json.dumps(pact))


async def test_the_example_pact_verifies_twice_at_once(stack, tmp_path, pact_file):
    """Two verifications side by side (two CI jobs, say) each get states of their own."""
    runs = await asyncio.gather(*(verify(stack, str(pact_file), "--junit", str(tmp_path / f"pact-{i}.xml"))
                                  for i in range(2)))
    for i, (code, out) in enumerate(runs):
        assert code == 0, out
        assert "4 of 4 interaction(s) verified" in out and f"verified  {pact_file}: a payout.failed webhook" in out
        assert 'failures="0"' in (tmp_path / f"pact-{i}.xml").read_text()


async def test_a_wrong_pact_fails_naming_the_field(stack, tmp_path, pact_file):
    made_wrong(pact_file)
    code, out = await verify(stack, str(tmp_path), "--json", str(tmp_path / "results.json"))
    print(out)
    assert code == 1, out
    assert "expected 200 but was 201" in out
    assert "$.data -> Actual map is missing the following keys: failure_reason" in out
    assert f"FAILED    {pact_file}: a new payout" in out and f"FAILED    {pact_file}: a payout.failed webhook" in out
    assert "2 of 4 interaction(s) verified" in out
    assert json.loads((tmp_path / "results.json").read_text())[0]["result"] is False


async def test_what_cannot_be_verified_exits_2(stack, tmp_path, pact_file):
    not_a_pact = tmp_path / "notes.json"
    not_a_pact.write_text('{"hello": 1}')
    code, out = await verify(stack, str(not_a_pact))
    assert code == 2 and "not a pact" in out, out
    code, out = await verify(stack, str(tmp_path / "missing.json"))
    assert code == 2 and "no such file" in out, out
    code, out = await run(sys.executable, "-m", "sandbox.cli", "pact", "verify", "--url", "http://127.0.0.1:9",
                          "--admin-key", "k", str(pact_file))
    assert code == 2 and "cannot reach the sandbox" in out, out
