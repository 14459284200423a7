"""`sandbox gate`, `sandbox clock advance` and `sandbox merchant new` against a server that
is not the sandbox, or a broken or hostile one, run as a CI job runs them: processes, a
short --timeout. Whatever it answers, the command ends within its deadline in one line
and exit 2 ("could not judge", or not the API's answer), never a traceback, never a
verdict it did not get; text it sends reaches neither the terminal nor the JUnit raw.
One case per defect a probe from outside found (D1-D3, D5, D8, D10)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from junitparser import JUnitXml

SANDBOX = str(Path(sys.executable).with_name("sandbox"))  # the console script the package installs
TIMEOUT_S = 1.5
KEY = "sk_test_hostile_0000000000000001"
ADMIN_KEY = "sk_admin_hostile_000000000000001"
Answer = Callable[[asyncio.StreamWriter], Awaitable[None]]


class Hostile:
    """A local HTTP server that answers every request with `answer` (raw bytes on the
    socket, so it can trickle, lie about lengths or never end), noting each request."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.requests: list[str] = []
        self.loop = asyncio.new_event_loop()
        self.tasks: set[asyncio.Task] = set()
        started = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(started,), daemon=True)
        self.thread.start()
        started.wait(5)

    def _run(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = self.server.sockets[0].getsockname()[1]
        started.set()
        self.loop.run_forever()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.tasks.add(asyncio.current_task())  # type: ignore[arg-type]
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), 0)
            await reader.readexactly(length)
            self.requests.append(head.split(b"\r\n", 1)[0].decode())
            await self.answer(writer)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        async def down() -> None:
            self.server.close()
            for task in self.tasks:
                task.cancel()
            await asyncio.sleep(0)

        asyncio.run_coroutine_threadsafe(down(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def answering(status: int, body: bytes, media: str = "application/json") -> Answer:
    async def answer(writer: asyncio.StreamWriter) -> None:
        writer.write(f"HTTP/1.1 {status} X\r\nContent-Type: {media}\r\nContent-Length: {len(body)}\r\n"
                     "Connection: close\r\n\r\n".encode() + body)
    return answer


async def header_byte_a_second(writer: asyncio.StreamWriter) -> None:
    for byte in b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" * 100:
        writer.write(bytes([byte]))
        await writer.drain()
        await asyncio.sleep(1)


async def slow_body(writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
    for _ in range(1000):
        writer.write(b" ")
        await writer.drain()
        await asyncio.sleep(0.5)


async def endless_chunks(writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b" " * 65536
    while True:
        writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        await writer.drain()


@pytest.fixture
def hostile() -> Iterator[Callable[[Answer], Hostile]]:
    started: list[Hostile] = []

    def start(answer: Answer) -> Hostile:
        started.append(Hostile(answer))
        return started[-1]

    yield start
    for server in started:
        server.stop()


def run(*argv: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SANDBOX_", "MYPAY_"))}
    return subprocess.run([SANDBOX, *argv], env={**clean, **env}, capture_output=True, text=True, timeout=60)


def gate(url: str, *more: str) -> subprocess.CompletedProcess:
    return run("gate", "--url", url, "--key", KEY, "--timeout", str(TIMEOUT_S), *more)


def clock(url: str, *more: str) -> subprocess.CompletedProcess:
    return run("clock", "advance", "--url", url, "--key", KEY, "--timeout", str(TIMEOUT_S), *(more or ("--until",
                                                                                                        "idle")))


def merchant(url: str, *more: str) -> subprocess.CompletedProcess:
    return run("merchant", "new", "--url", url, "--admin-key", ADMIN_KEY, "--timeout", str(TIMEOUT_S), *more)


def could_not(done: subprocess.CompletedProcess, *words: str) -> None:
    """Exit 2, one line on stderr saying `words`, nothing on stdout, no traceback."""
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert done.stdout == "" and "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("sandbox: "), done.stderr
    for word in words:
        assert word in done.stderr, done.stderr


HELD = {"held": True, "merchants": [{"merchant_id": "mch_x", "held": True, "requirements": [
    {"name": "coverage", "held": True, "reason": "exercised all 1 asked for: success"}]}]}


@pytest.mark.parametrize(("body", "says"), [
    (b"{}", "not the API's GateVerdict"),
    (b"[]", "not the API's GateVerdict"),
    (b"null", "not the API's GateVerdict"),
    (b'{"held": "yes", "merchants": 1}', "not the API's GateVerdict"),
    (b"[" * 200_000 + b"]" * 200_000, "not the API's GateVerdict"),
    (b"{" + b" " * (10 * 1024 * 1024) + b"}", "more than the 4194304 an answer of the API has"),
    (json.dumps({"held": True, "merchants": []}).encode(), "a verdict that does not add up"),
    (json.dumps({**HELD, "held": False}).encode(), "a verdict that does not add up"),
    (b"<html>held</html>", "with text/html, not JSON"),
])
def test_d1_an_answer_of_the_wrong_shape_cannot_be_judged(hostile, body, says):
    server = hostile(answering(200, body, "text/html" if body.startswith(b"<") else "application/json"))
    could_not(gate(server.url, "--require-coverage", "success"), says)


def test_d1_a_well_formed_verdict_is_taken(hostile):
    """The battery's server can pass: what it refuses above is the shape, not the server."""
    server = hostile(answering(200, json.dumps(HELD).encode()))
    done = gate(server.url, "--require-coverage", "success")
    assert done.returncode == 0, done.stderr
    assert "  held  coverage: exercised all 1 asked for: success" in done.stdout


@pytest.mark.parametrize("coverage", [",", " , ", ""])
def test_d2_an_empty_requirement_is_nothing_to_judge(hostile, coverage):
    server = hostile(answering(200, json.dumps(HELD).encode()))
    could_not(gate(server.url, "--require-coverage", coverage), "nothing to judge")
    could_not(gate(server.url, "--require-coverage", coverage, "--require-safe-retries"), "nothing to judge")
    assert server.requests == []  # refused before asking anything


@pytest.mark.parametrize(("command", "answer"), [
    (gate, header_byte_a_second),
    (clock, header_byte_a_second),
    (merchant, header_byte_a_second),
    (clock, slow_body),
    (merchant, endless_chunks),
])
def test_d3_a_trickle_or_an_endless_body_is_cut_off(hostile, command, answer):
    server = hostile(answer)
    started = time.monotonic()
    extra = ("--require-coverage", "all") if command is gate else ()
    done = command(server.url, *extra)
    if answer is endless_chunks:
        could_not(done, "answered more than 4194304 bytes")
    else:
        could_not(done, f"no complete answer from {server.url} within {TIMEOUT_S:g} s (--timeout)")
    assert time.monotonic() - started < TIMEOUT_S + 5  # the deadline, plus the process' start


@pytest.mark.parametrize("seconds", ["nan", "inf", "-inf", "1e400", "-1", "soon"])
def test_d5_seconds_that_are_no_number_of_seconds(hostile, seconds):
    server = hostile(answering(200, b"{}"))
    done = run("clock", "advance", "--url", server.url, "--key", KEY, f"--seconds={seconds}")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"argument --seconds: {seconds!r} is not a number of seconds" in done.stderr
    assert server.requests == []


def test_d5_keys_and_settings_are_checked_in_words(hostile):
    server = hostile(answering(200, b"{}"))
    for argv in (["gate", "--url", server.url, "--key", "sk_test_clé", "--require-safe-retries"],
                 ["clock", "advance", "--url", server.url, "--key", "sk_test_clé", "--until", "idle"],
                 ["merchant", "new", "--url", server.url, "--admin-key", "sk_admin_ключ"]):
        done = run(*argv)
        assert done.returncode == 2 and "Traceback" not in done.stderr
        assert "an API key is printable ASCII" in done.stderr
    done = run("merchant", "new", "--url", server.url, SANDBOX_ADMIN_KEY="sk_admin_clé")
    could_not(done, "the admin key is printable ASCII")
    for argv in (["gate", "--key", KEY, "--require-safe-retries"], ["clock", "advance", "--key", KEY, "--until",
                                                                    "idle"]):
        could_not(run(*argv, SANDBOX_API_PORT="notaport"), "SANDBOX_API_PORT must be a whole number, got 'notaport'")
    could_not(run("gate", "--key", KEY, "--require-safe-retries", SANDBOX_API_PORT="99999"),
              "SANDBOX_API_PORT must be a port number")
    done = run("gate", "--url", "ftp://x", "--key", KEY, "--require-safe-retries")
    assert done.returncode == 2 and "is not an http:// or https:// URL" in done.stderr
    for timeout in ("0", "nan", "-5"):
        done = run("gate", "--url", server.url, "--key", KEY, "--require-safe-retries", "--timeout", timeout)
        assert done.returncode == 2 and "argument --timeout" in done.stderr
    assert server.requests == []


def test_d5_an_empty_answer_to_clock_advance_or_merchant_new(hostile):
    could_not(clock(hostile(answering(200, b"{}")).url), "not the API's ClockAdvanced")
    could_not(merchant(hostile(answering(201, b"{}")).url), "not the API's NewMerchantOut")
    could_not(merchant(hostile(answering(201, b'{"merchant": {"id": 1}, "api_key": null}')).url),
              "not the API's NewMerchantOut")


ESCAPES = "\x1b[31m\x01\x07"


def test_d8_control_characters_reach_neither_terminal_nor_junit(hostile, tmp_path):
    problem = {"type": "x", "title": f"Refused{ESCAPES}", "status": 409, "detail": f"no{ESCAPES}", "code": "x",
               "request_id": "r"}
    refused = hostile(answering(409, json.dumps(problem).encode(), "application/problem+json"))
    for done in (clock(refused.url), merchant(refused.url), gate(refused.url, "--require-safe-retries")):
        assert done.returncode in (1, 2) and "Traceback" not in done.stderr
        assert "\x1b" not in done.stderr and "\x01" not in done.stderr
        assert "Refused\\x1b[31m\\x01\\x07" in done.stderr
    verdict = {"held": False, "merchants": [{"merchant_id": f"mch_{ESCAPES}", "held": False, "requirements": [
        {"name": "coverage", "held": False, "reason": f"never {ESCAPES}\uffff exercised",
         "details": [f"d{ESCAPES}"], "missing": ["success"]}]}]}
    server = hostile(answering(200, json.dumps(verdict).encode()))
    junit = tmp_path / "gate.xml"
    done = gate(server.url, "--require-coverage", "success", "--junit", str(junit))
    assert done.returncode == 1, done.stderr
    assert "\x1b" not in done.stdout and "\x01" not in done.stdout
    assert "merchant mch_\\x1b[31m\\x01\\x07" in done.stdout
    ET.parse(junit)  # well-formed XML 1.0
    [suite] = JUnitXml.fromfile(str(junit))
    assert suite.name == "sandbox gate mch_\\x1b[31m\\x01\\x07"
    made = hostile(answering(201, json.dumps({"merchant": {"id": f"mch_{ESCAPES}", "name": "n", "clock": "live"},
                                              "api_key": f"sk_{ESCAPES}"}).encode()))
    done = merchant(made.url)
    assert done.returncode == 0 and "\x1b" not in done.stdout and "mch_\\x1b[31m" in done.stdout


@pytest.mark.parametrize("endpoint", ["../payouts", "we_../../payouts", "payouts", "we_", "we_a/b", "we_é"])
def test_d10_an_audit_endpoint_must_be_an_endpoint_id(hostile, endpoint):
    server = hostile(answering(200, json.dumps(HELD).encode()))
    done = gate(server.url, "--audit-endpoint", endpoint)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "argument --audit-endpoint" in done.stderr and "is not a webhook endpoint's id" in done.stderr
    assert server.requests == []
