"""A large upload spools where the operator said (SANDBOX_UPLOAD_DIR) and within a bound
the operator can size a pod's `tmp` to: each API process spools SANDBOX_UPLOADS_AT_ONCE
bodies at once (1 by default), each on disk at most twice (the body, and the file parsed
out of it), so the dir never holds more than 2 × the largest upload. One more upload
waits its turn, then gets 503 with Retry-After, and is taken once the first is done."""

from __future__ import annotations

import asyncio
import os
import secrets
import tempfile
from pathlib import Path

from sandbox.idempotency import body as request_bodies
from tests.batches.helpers import HEADER
from tests.helpers import wait_for

BOUNDARY = "spool-boundary-0f3a"
ROWS = HEADER + "".join(f"s{i},1.00,bank,HBL,,,12345678900001,,spool\n" for i in range(3))


def _multipart(padding: bytes) -> tuple[bytes, bytes]:
    """The upload's head (through the rows and `padding`: blank lines, which are no rows) and tail."""
    head = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.csv\"\r\n"
            f"Content-Type: text/csv\r\n\r\n{ROWS}").encode() + padding
    return head, f"\r\n--{BOUNDARY}--\r\n".encode()


def _spooled(where: Path) -> list[int]:
    """The sizes of the files this process holds open under `where` (a spool is unlinked as
    it is made, so only its open descriptor shows it)."""
    sizes = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
            if target.startswith(str(where)):
                sizes.append(os.fstat(int(fd)).st_size)
        except OSError:
            continue
    return sizes


async def test_uploads_spool_in_the_upload_dir_one_at_a_time(merchant, tmp_path, monkeypatch):
    spool = tmp_path / "uploads"
    monkeypatch.setattr(tempfile, "tempdir", tempfile.tempdir)  # put back after the test
    request_bodies.use_spool_dir(str(spool))  # what the API does at start with SANDBOX_UPLOAD_DIR
    monkeypatch.setattr(request_bodies, "SPOOL_WAIT_S", 1.0)  # the second upload's wait for a turn
    head, tail = _multipart(b"\n" * 3_000_000)
    release = asyncio.Event()

    async def held_body():
        yield head
        await release.wait()  # the first upload stays mid-body, spooled, until the test lets it go
        yield tail

    def upload(content):
        return merchant.http.post("/payout-batches", content=content, timeout=60, headers={
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}", "X-Idempotency-Key": secrets.token_hex(12)})

    first = asyncio.create_task(upload(held_body()))
    async def spooling() -> bool:
        return bool(_spooled(spool))
    await wait_for(spooling, 30, what="the first upload to spool to SANDBOX_UPLOAD_DIR")
    second = await upload(head + tail)  # one more: it waits its turn, and the turn does not come
    assert second.status_code == 503 and second.headers["retry-after"], second.text
    assert second.json()["code"] == "unavailable" and "SANDBOX_UPLOADS_AT_ONCE" in second.json()["detail"]
    held = sum(_spooled(spool))  # the first upload's body so far, on disk once (its file is not parsed yet)
    assert 0 < held <= 2 * len(head + tail)
    release.set()
    done = await first
    assert done.status_code == 202, done.text
    assert done.json()["total_items"] == 3
    async def closed() -> bool:  # the request ends just after its answer went out
        return not _spooled(spool)
    await wait_for(closed, 10, what="the spool to close as the request ends")
    again = await upload(head + tail)  # its turn now
    assert again.status_code == 202 and again.json()["total_items"] == 3, again.text
