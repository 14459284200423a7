"""A right ends everything it opened: a stream opened with a key (the request log's, a
listener's) ends within a second of the key's revocation, of the end of a rolled key's
overlap, or of its merchant's removal, with a last `event: key_revoked` that says why; and
`sandbox logs tail` / `sandbox listen` say it in words and exit 3, never reconnecting.
Across two API processes: tests/process/test_rotation.py."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from httpx_sse import aconnect_sse

from sandbox import db
from sandbox.client.listener import KEY_STOPPED, KeyStopped, Listener, Options, api_client, open_endpoint
from sandbox.client.tail import Options as TailOptions
from sandbox.client.tail import tail
from tests.helpers import wait_for


@contextlib.asynccontextmanager
async def events(base_url: str, key: str, path: str) -> AsyncIterator[list[tuple[float, str, str]]]:
    """(when, event, data) of each event the stream at `path` sends, until it ends or the block does."""
    seen: list[tuple[float, str, str]] = []

    async def read() -> None:
        async with api_client(base_url, key) as api, aconnect_sse(api, "GET", path) as source:
            assert source.response.status_code == 200, await source.response.aread()
            async for event in source.aiter_sse():
                seen.append((time.monotonic(), event.event, event.data))

    task = asyncio.create_task(read())
    try:
        yield seen
    finally:
        task.cancel()
        with contextlib.suppress(BaseException):
            await task


def _last(seen) -> tuple[float, str, dict] | None:
    for at, event, data in seen:
        if event == "key_revoked":
            return at, event, json.loads(data)
    return None


async def _open_streams(stack, merchant):
    listener = (await merchant.post("/webhook-listeners", json={"name": "held"})).json()
    return ["/sandbox/requests/stream", listener["stream"].removeprefix("/api/v1")]


async def _all_opened(seen_lists) -> bool:
    return all(seen for seen in seen_lists)


async def test_a_revoked_key_ends_every_stream_it_opened_within_a_second(stack, admin, merchant) -> None:
    paths = await _open_streams(stack, merchant)
    async with events(stack.base_url, merchant.key, paths[0]) as log, \
            events(stack.base_url, merchant.key, paths[1]) as listener:
        await wait_for(lambda: _all_opened([log, listener]), timeout=10, what="both streams open")
        rolled = await admin.post(f"/admin/merchants/{merchant.merchant_id}/keys/roll", {"overlap_minutes": 0})
        assert rolled.status_code == 201, rolled.text
        answered = time.monotonic()
        for seen in (log, listener):
            at, _, said = await wait_for(lambda s=seen: _async(_last(s)), timeout=5, what="event: key_revoked")
            assert at - answered < 1.0, f"ended {at - answered:.3f} s after the roll's answer"
            assert said["code"] == "key_revoked" and "revoked" in said["reason"]
        # Nothing more comes: the new key's requests reach no stream of the old one.
        new = httpx.AsyncClient(base_url=stack.base_url + "/api/v1", headers={"X-API-KEY": rolled.json()["api_key"]})
        async with new:
            assert (await new.get("/balance")).status_code == 200
        await asyncio.sleep(0)
        assert [e for _, e, _ in log][-1] == "key_revoked" and [e for _, e, _ in listener][-1] == "key_revoked"


async def _async(value):
    return value


async def test_a_rolled_key_keeps_its_streams_through_the_overlap_then_they_end(stack, admin, merchant) -> None:
    async with events(stack.base_url, merchant.key, "/sandbox/requests/stream") as log:
        await wait_for(lambda: _all_opened([log]), timeout=10, what="the stream open")
        rolled = await admin.post(f"/admin/merchants/{merchant.merchant_id}/keys/roll", {"overlap_minutes": 30})
        assert rolled.status_code == 201, rolled.text
        # The overlap goes on: the stream shows the merchant's requests still.
        r = await merchant.get("/balance")
        await wait_for(lambda: _async(any(r.headers["x-request-id"] in d for _, _, d in log)), timeout=5,
                       what="a request in the stream during the overlap")
        assert _last(log) is None
        # The overlap's end brought a second and a half from now, as rotation's own test does.
        ends = datetime.now(UTC) + timedelta(seconds=1.5)
        await db.execute("UPDATE api_key SET revoked_at = $2 WHERE merchant = $1 AND revoked_at > now()"
                         " + interval '1 minute'", merchant.merchant_id, ends)
        at, _, said = await wait_for(lambda: _async(_last(log)), timeout=10, what="event: key_revoked")
        late = datetime.now(UTC) - ends - timedelta(seconds=time.monotonic() - at)
        assert said["code"] == "key_expired", said
        assert timedelta(seconds=-0.05) < late < timedelta(seconds=1), f"ended {late} after the overlap's end"


async def test_a_removed_merchant_ends_its_streams(stack, merchant) -> None:
    from sandbox.retention.removal import remove

    async with events(stack.base_url, merchant.key, "/sandbox/requests/stream") as log:
        await wait_for(lambda: _all_opened([log]), timeout=10, what="the stream open")
        assert await remove(merchant.merchant_id, datetime.now(UTC) + timedelta(days=1)) is not None
        _, _, said = await wait_for(lambda: _async(_last(log)), timeout=5, what="event: key_revoked")
        assert said["code"] == "merchant_removed", said


async def test_logs_tail_says_why_and_exits_3_without_reconnecting(stack, admin, merchant) -> None:
    lines: list[str] = []
    options = TailOptions(url=stack.base_url, key=merchant.key, out=lines.append, err=lines.append)
    task = asyncio.create_task(tail(options))
    await wait_for(lambda: _async(any("Tailing" in line for line in lines)), timeout=10, what="the tail to start")
    assert (await admin.post(f"/admin/merchants/{merchant.merchant_id}/keys/roll", {})).status_code == 201
    assert await asyncio.wait_for(task, 5) == KEY_STOPPED == 3
    assert "revoked" in lines[-1] and "key_revoked" in lines[-1], lines
    assert not any("reconnecting" in line for line in lines), lines


async def test_listen_says_why_and_stops_without_reconnecting(stack, admin, merchant) -> None:
    lines: list[str] = []
    options = Options(url=stack.base_url, key=merchant.key, forward_to="http://127.0.0.1:9/", out=lines.append,
                      err=lines.append)
    async with api_client(stack.base_url, merchant.key) as api:
        opened = await open_endpoint(api, "default", ["*"])
        task = asyncio.create_task(Listener(options, api, opened).run())
        await wait_for(lambda: _async(any(line.startswith("Ready!") for line in lines)), timeout=10,
                       what="the listener ready")
        assert (await admin.post(f"/admin/merchants/{merchant.merchant_id}/keys/roll", {})).status_code == 201
        with pytest.raises(KeyStopped, match="revoked"):
            await asyncio.wait_for(task, 5)
    assert not any("reconnecting" in line for line in lines), lines


async def test_the_command_exits_3_in_words(stack, admin, merchant, capsys) -> None:
    """The CLI's own exit: `sandbox logs tail` with its key revoked while it tails."""
    import argparse

    from sandbox.client.stream_commands import run_tail

    args = argparse.Namespace(url=stack.base_url, key=merchant.key, method=None, path=None, status=None,
                              idempotency_outcome=None, format="text")
    ran = asyncio.create_task(asyncio.to_thread(run_tail, args, lambda a: a.url))
    said: list[str] = []

    async def tailing() -> bool:
        said.append(capsys.readouterr().err)
        return "Tailing" in "".join(said)

    await wait_for(tailing, timeout=10, what="the tail to start")
    assert (await admin.post(f"/admin/merchants/{merchant.merchant_id}/keys/roll", {})).status_code == 201
    assert await asyncio.wait_for(ran, 10) == 3
    err = "".join(said) + capsys.readouterr().err
    assert "sandbox: the sandbox ended the stream: the API key that opened this stream was revoked" in err, err
