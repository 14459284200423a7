"""`sandbox listen` where the sandbox cannot reach the receiver: the image on Podman's
default network (no `--network host`), the receiver on this machine's loopback. A URL
endpoint naming the receiver fails from inside the container; the listener, run here,
gets every delivery, and each verifies with the `standardwebhooks` library."""

from __future__ import annotations

import http.server
import json
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
from standardwebhooks import Webhook, WebhookVerificationError

from seeds.seed import DEMO_MERCHANTS
from tests.container.test_image import image, podman, pytestmark  # noqa: F401  (the image fixture, built once a session; skipped without podman)
from tests.helpers import free_port

SANDBOX = str(Path(sys.executable).with_name("sandbox"))
KEY = DEMO_MERCHANTS[0][2]
PAYOUT = {"amount": "15.00", "currency": "PKR", "destination": {
    "type": "bank", "bank_code": "HBL", "account_number": "12345678900001", "account_title": "Ali Raza"}}


class Receiver:
    """On 127.0.0.1 only: nothing in a container on the default network reaches it."""

    def __init__(self) -> None:
        self.port = free_port()
        self.secret = ""
        self.got: list[tuple[str, bool]] = []
        receiver = self

        class Hook(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                try:
                    Webhook(receiver.secret).verify(body, {k.lower(): v for k, v in self.headers.items()})
                    verified = True
                except WebhookVerificationError:
                    verified = False
                receiver.got.append((json.loads(body)["type"], verified))
                self.send_response(204 if verified else 400)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Hook)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_the_image_on_its_default_network_reaches_a_loopback_receiver_only_through_listen(image, tmp_path):  # noqa: F811
    receiver = Receiver()
    api_port = free_port()
    name = f"mypay-sandbox-listen-{uuid.uuid4().hex[:8]}"
    podman("run", "-d", "--name", name, "-p", f"127.0.0.1:{api_port}:8000", "-e", "SANDBOX_TIME_SCALE=0", image)
    base = f"http://127.0.0.1:{api_port}"
    listener = None
    try:
        _until(lambda: _ready(base), 120, "the container's /ready")
        receiver.secret = subprocess.run([SANDBOX, "listen", "--print-secret", "--url", base, "--key", KEY],
                                         capture_output=True, text=True, check=True).stdout.strip()
        with (tmp_path / "listen.out").open("w") as out:
            listener = subprocess.Popen([SANDBOX, "listen", "--forward-to", f"http://127.0.0.1:{receiver.port}/hook",
                                         "--url", base, "--key", KEY], stdout=out, stderr=subprocess.STDOUT)
        with httpx.Client(base_url=base + "/api/v1", headers={"X-API-KEY": KEY}, timeout=30) as api:
            url_endpoint = api.post("/webhook-endpoints", json={"url": f"http://127.0.0.1:{receiver.port}/hook"},
                                    headers={"X-Idempotency-Key": uuid.uuid4().hex}).json()
            made = api.post("/payouts", json=PAYOUT, headers={"X-Idempotency-Key": uuid.uuid4().hex})
            assert made.status_code == 201, made.text
            _until(lambda: ("payout.success", True) in receiver.got, 120, "payout.success through the listener")
            assert sorted(receiver.got) == [("payout.created", True), ("payout.processing", True),
                                            ("payout.success", True)], receiver.got
            event = api.get("/events", params={"type": "payout.success"}).json()["data"][0]

            def url_delivery_failed() -> bool:
                ds = api.get(f"/events/{event['id']}/deliveries").json()["data"]
                mine = [d for d in ds if d["endpoint_id"] == url_endpoint["id"]]
                return bool(mine) and mine[0]["attempts"] != [] and mine[0]["attempts"][0]["status_code"] is None

            _until(url_delivery_failed, 60, "the URL endpoint's attempt to fail from inside the container")
    finally:
        if listener is not None:
            listener.terminate()
            listener.wait(10)
        podman("rm", "-f", "-t", "5", name, check=False)
        receiver.server.shutdown()


def _ready(base: str) -> bool:
    try:
        return httpx.get(base + "/api/v1/ready", timeout=3).status_code == 200
    except httpx.HTTPError:
        return False


def _until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out after {timeout:g} s waiting for {what}"
        time.sleep(0.2)
