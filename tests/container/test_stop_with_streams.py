"""The image stopped with `sandbox listen` and `sandbox logs tail` attached: `podman stop
-t 10` ends it with exit 0 in under 2 s (before: 10.7-11 s, then SIGKILL, exit 137), each
client hears `going_away`, and both are connected again once the container is started
again on its volume."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from seeds.seed import DEMO_MERCHANTS
from tests.container.podman import podman
from tests.container.test_image import Container, image, pytestmark  # noqa: F401  (the image fixture, built once a session; skipped without podman)
from tests.process.conftest import wait_until

SANDBOX = str(Path(sys.executable).with_name("sandbox"))
KEY = DEMO_MERCHANTS[0][2]
STOP_WITHIN_S = 2.0


def finished_at(text: str) -> float:
    """Podman's `2026-11-28 13:43:45.123456789 +0000 UTC` as seconds since the epoch."""
    day, clock, offset = text.split()[:3]
    whole, _, fraction = clock.partition(".")
    moment = datetime.fromisoformat(f"{day}T{whole}{offset[:3]}:{offset[3:]}")
    return moment.timestamp() + float(f"0.{fraction or 0}")


def test_podman_stop_with_listen_and_tail_attached_exits_0_within_2_s(image, tmp_path):  # noqa: F811
    box = Container(image)
    base = box.url.removesuffix("/api/v1")
    clients: list[subprocess.Popen] = []
    try:
        box.wait_healthy()
        listen_out, tail_err = tmp_path / "listen.out", tmp_path / "tail.err"
        with listen_out.open("wb") as out, tail_err.open("wb") as err:
            clients.append(subprocess.Popen([SANDBOX, "listen", "--forward-to", "http://127.0.0.1:9/hook", "--url",
                                             base, "--key", KEY], stdout=out, stderr=subprocess.STDOUT))
            clients.append(subprocess.Popen([SANDBOX, "logs", "tail", "--url", base, "--key", KEY],
                                            stdout=subprocess.DEVNULL, stderr=err))
        wait_until(lambda: "Ready!" in listen_out.read_text(), 60, "the listener's stream to open")
        wait_until(lambda: "Tailing" in tail_err.read_text(), 60, "the tail's stream to open")

        started, wall = time.monotonic(), time.time()
        podman("stop", "-t", "10", box.name, timeout=60)
        took = time.monotonic() - started
        code, finished = podman("inspect", "--format", "{{.State.ExitCode}} {{.State.FinishedAt}}",
                                box.name).stdout.split(" ", 1)
        # When the container's process exited (podman's own clean-up after it is podman's time).
        exited = finished_at(finished) - wall
        print(f"\n`podman stop -t 10` with listen and logs tail attached: exit {code}, the container ended "
              f"{exited:.2f} s after the stop began, `podman stop` returned after {took:.2f} s")
        assert code == "0" and exited < STOP_WITHIN_S, f"exit {code} after {exited:.2f} s:\n{box.logs()[-3000:]}"
        for said in (listen_out, tail_err):
            wait_until(lambda said=said: "the sandbox is stopping" in said.read_text(), 10, f"going_away in {said}")

        box.start_again()  # the clients find it again on their own
        wait_until(lambda: "stream resumed" in tail_err.read_text(), 60, "the tail to resume")
        assert all(client.poll() is None for client in clients)
    finally:
        for client in clients:
            client.terminate()
            client.wait(10)
        box.remove()
