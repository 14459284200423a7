"""`sandbox pact verify` against a running sandbox: a consumer's right pact verifies (exit
0), a wrong one fails naming what is wrong (exit 1), and what cannot be verified at all
exits 2."""

from __future__ import annotations

import asyncio
import sys

from tests.pact.consumer import write_pacts


async def verify(stack, *args: str) -> tuple[int, str]:
    # Its own process: the verifier blocks, and the API answering it runs in this event loop.
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sandbox.cli", "pact", "verify", "--url", stack.base_url,
        "--admin-key", stack.admin_key, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode()


async def test_a_right_pact_verifies(stack, tmp_path):
    pact_file = await asyncio.to_thread(write_pacts, tmp_path)
    code, out = await verify(stack, str(pact_file), "--junit", str(tmp_path / "pact.xml"))
    print(out)
    assert code == 0, out
    assert "4 of 4 interaction(s) verified" in out
    assert "a payout.failed webhook" in out and 'failures="0"' in (tmp_path / "pact.xml").read_text()


async def test_a_wrong_pact_fails_naming_the_field(stack, tmp_path):
    pact_file = await asyncio.to_thread(write_pacts, tmp_path, wrong=True)
    code, out = await verify(stack, str(tmp_path), "--json", str(tmp_path / "results.json"))
    print(out)
    assert code == 1, out
    assert "expected 200 but was 201" in out
    assert "failure_reason" in out
    assert f"FAILED    {pact_file}: a new payout" in out and f"FAILED    {pact_file}: a payout.failed webhook" in out
    assert "2 of 4 interaction(s) verified" in out


async def test_what_cannot_be_verified_exits_2(stack, tmp_path):
    not_a_pact = tmp_path / "notes.json"
    not_a_pact.write_text('{"hello": 1}')
    code, out = await verify(stack, str(not_a_pact))
    assert code == 2 and "not a pact" in out, out
    code, out = await verify(stack, str(tmp_path / "missing.json"))
    assert code == 2 and "no such file" in out, out
    pact_file = await asyncio.to_thread(write_pacts, tmp_path / "pacts")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sandbox.cli", "pact", "verify", "--url", "http://127.0.0.1:9", "--admin-key", "k",
        str(pact_file), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out = (await proc.communicate())[0].decode()
    assert proc.returncode == 2 and "cannot reach the sandbox" in out, out
