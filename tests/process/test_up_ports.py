"""`sandbox up` when its API or IPN port is already taken, as it is when a second user
(or a second checkout) runs `up` with the default ports on the same machine: it must
refuse at once and say which variable to change, not start servers, take the other
program's `/ready` answer for its own API's, print "ready" with keys that other program
does not know, and go on restarting an API that cannot bind."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.process.conftest import EXIT_TIMEOUT, REPO, free_port, scratch_dir, servers_in


class _AnotherSandbox(BaseHTTPRequestHandler):
    """Answers every GET 200 {"status": "ok"}, as another sandbox's /ready and /health do."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        body = b'{"status": "ok"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def squatter():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _AnotherSandbox)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("variable", ["SANDBOX_API_PORT", "SANDBOX_IPN_PORT"])
def test_up_refuses_a_port_in_use_and_names_the_variable(variable, squatter):
    with scratch_dir() as path:
        data_dir = path / "data"
        env = {k: v for k, v in os.environ.items() if not k.startswith("SANDBOX_")}
        env.update(SANDBOX_DATA_DIR=str(data_dir), SANDBOX_API_PORT=str(free_port()),
                   SANDBOX_IPN_PORT=str(free_port()), SANDBOX_TIME_SCALE="0")
        env[variable] = str(squatter)
        proc = subprocess.Popen([sys.executable, "-m", "sandbox.cli", "up"], cwd=REPO, env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            output, _ = proc.communicate(timeout=EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.terminate()
            output, _ = proc.communicate(timeout=EXIT_TIMEOUT)
            raise AssertionError(f"`sandbox up` kept running on a taken port:\n{output.decode()}") from None
        text = output.decode(errors="replace")
        assert proc.returncode == 1, text
        assert f"port {squatter}" in text and variable in text, text
        assert not any(line.startswith("ready in") for line in text.splitlines()), text
        assert "Admin key" not in text, text
        assert servers_in(data_dir) == []


def test_up_refuses_an_admin_key_no_request_could_use():
    """A key shorter than any key may be would be shown and saved, then refused on every
    request: `up` says so before it starts anything."""
    with scratch_dir() as path:
        data_dir = path / "data"
        env = {k: v for k, v in os.environ.items() if not k.startswith("SANDBOX_")}
        env.update(SANDBOX_DATA_DIR=str(data_dir), SANDBOX_API_PORT=str(free_port()),
                   SANDBOX_IPN_PORT=str(free_port()), SANDBOX_ADMIN_KEY="sk_admin_short")
        done = subprocess.run([sys.executable, "-m", "sandbox.cli", "up"], cwd=REPO, env=env,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=EXIT_TIMEOUT)
        assert done.returncode == 1, done.stderr
        assert "SANDBOX_ADMIN_KEY must be 16 to 200 characters long (it is 14)" in done.stderr, done.stderr
        assert "Admin key" not in done.stdout + done.stderr
        assert servers_in(data_dir) == []


def test_up_writes_its_refusal_as_one_line_a_log_can_tail():
    """A container's log stores each write as a record, and `podman logs --tail` (Podman 4.3,
    its Docker-compatible API too) counts records: a refusal written as its words and then its
    newline read back as the newline alone, and a failed start seemed to have said nothing.
    stderr here is a socket that keeps each write apart, as such a log does."""
    with scratch_dir() as path:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SANDBOX_")}
        env.update(SANDBOX_DATA_DIR=str(path / "data"), SANDBOX_API_PORT=str(free_port()),
                   SANDBOX_IPN_PORT=str(free_port()), SANDBOX_ADMIN_KEY="sk_admin_short")
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        with ours, theirs:
            done = subprocess.run([sys.executable, "-m", "sandbox.cli", "up"], cwd=REPO, env=env,
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=theirs,
                                  timeout=EXIT_TIMEOUT)
            theirs.close()
            writes = list(iter(lambda: ours.recv(65536).decode(), ""))
        assert done.returncode == 1, writes
        refusal = [write for write in writes if "SANDBOX_ADMIN_KEY must be" in write]
        assert refusal and refusal[-1].endswith("\n"), writes
