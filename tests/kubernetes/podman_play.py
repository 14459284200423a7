"""The podman overlay played on this machine as a user plays it (`podman kube play` of what
`kubectl kustomize` renders), on free ports, a PostgreSQL database and a Redis database of
its own, and under names of its own: an overlay made here on top of deploy/kubernetes/
overlays/podman sets those, plus the image to run and a Secret with fresh random values.

Podman 4.3 does not play a Secret document (it stores it where `secretRef` then fails to read
it), so the rendered Secret becomes a podman secret (`podman secret create`, a JSON map of
base64 values: what its `secretRef` reads) and the rest is played."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import httpx
import yaml

from tests.container.podman import podman as run_podman
from tests.helpers import free_port
from tests.kubernetes.rendered import KUBERNETES, render

# This machine's PostgreSQL (trust for 127.0.0.1) and Redis, as the podman overlay expects.
POSTGRES = os.environ.get("MYPAY_KUBE_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("MYPAY_KUBE_REDIS", "redis://127.0.0.1:6379/13")
READY_WITHIN_S = 180.0
RECEIVERS = "127.0.0.2"  # where the run's webhook receivers listen (a loopback address of its own)


def podman(*args: str, check: bool = True, timeout: float = 180) -> subprocess.CompletedProcess:
    """tests/container's, failing with podman's own words."""
    done = run_podman(*args, check=False, timeout=timeout)
    if check and done.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)} exited {done.returncode}: {done.stderr}{done.stdout}")
    return done


def admin_sql(sql: str) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(POSTGRES, timeout=10)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


class PlayedSandbox:
    def __init__(self, image: str) -> None:
        self.tag = secrets.token_hex(3)
        self.prefix = f"k{self.tag}-"  # every pod, container and secret of this run
        self.database = f"mypay_kube_{self.tag}"
        self.api_ports = (free_port(), free_port())
        self.ipn_port = free_port()
        self.admin_key = "sk_admin_kube_" + secrets.token_hex(16)
        self.work = Path(tempfile.mkdtemp(prefix="sandbox-kube-"))
        self.database_url = urlsplit(POSTGRES)._replace(path="/" + self.database).geturl()
        self.redis_url = REDIS
        self.image = image
        self.played: Path | None = None
        self.secret_name = ""

    @property
    def urls(self) -> tuple[str, str]:
        return tuple(f"http://127.0.0.1:{port}/api/v1" for port in self.api_ports)  # type: ignore[return-value]

    def overlay(self) -> Path:
        """The run's overlay, on top of the repository's podman overlay."""
        name, _, tag = self.image.rpartition(":")
        values = {"SANDBOX_ADMIN_KEY": self.admin_key, "SANDBOX_RAIL_SECRET": secrets.token_hex(24),
                  "SANDBOX_SESSION_SECRET": secrets.token_hex(32)}
        settings = {
            "SANDBOX_API_PORT": str(self.api_ports[0]), "SANDBOX_IPN_PORT": str(self.ipn_port),
            "SANDBOX_IPN_URL": f"http://127.0.0.1:{self.ipn_port}",
            "SANDBOX_DATABASE_URL": self.database_url, "SANDBOX_REDIS_URL": self.redis_url,
            # CI's pace: simulated time instant; a stranded step recovered after 2 s, not 10 s.
            "SANDBOX_TIME_SCALE": "0", "SANDBOX_SWEEP_EVERY_S": "1", "SANDBOX_SWEEP_AFTER_S": "2",
            # The overlay refuses webhook targets inside the network; the run's own receivers
            # listen on RECEIVERS, which it allows as an operator allows a staging receiver.
            # 127.0.0.1, where the sandbox itself listens, stays refused.
            "SANDBOX_WEBHOOK_ALLOW": f"{RECEIVERS}/32",
        }
        folder = self.work / "overlay"
        kustomization = {
            "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
            "namePrefix": self.prefix,
            # Kustomize takes another kustomization by a relative path only.
            "resources": [os.path.relpath(KUBERNETES / "overlays" / "podman", folder)],
            "configMapGenerator": [
                {"name": "mypay-sandbox-config", "behavior": "merge",
                 "literals": [f"{k}={v}" for k, v in settings.items()]},
                {"name": "mypay-sandbox-api-port-2", "behavior": "merge",
                 "literals": [f"SANDBOX_API_PORT={self.api_ports[1]}"]},
            ],
            # Made here, so the prefix renames it and every reference to it.
            "secretGenerator": [{"name": "mypay-sandbox", "literals": [f"{k}={v}" for k, v in values.items()],
                                 "options": {"disableNameSuffixHash": True}}],
            "images": [{"name": "localhost/mypay-sandbox", "newName": name, "newTag": tag}],
        }
        folder.mkdir()
        (folder / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
        return folder

    def play(self) -> None:
        admin_sql(f'CREATE DATABASE "{self.database}"')
        self._flush_redis()
        docs = render(self.overlay())
        (secret,) = [d for d in docs if d["kind"] == "Secret"]
        self.secret_name = secret["metadata"]["name"]
        data = {k: v for k, v in (secret.get("data") or {}).items()}  # base64 already
        data |= {k: base64.b64encode(v.encode()).decode() for k, v in (secret.get("stringData") or {}).items()}
        (self.work / "secret.json").write_text(json.dumps(data))
        podman("secret", "create", self.secret_name, str(self.work / "secret.json"))
        self.played = self.work / "sandbox.yaml"
        self.played.write_text(yaml.safe_dump_all([d for d in docs if d["kind"] != "Secret"]))
        podman("kube", "play", str(self.played), timeout=300)

    def wait_ready(self) -> float:
        started, deadline = time.monotonic(), time.monotonic() + READY_WITHIN_S
        pending = set(self.urls)
        while pending:
            for url in list(pending):
                try:
                    if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                        pending.discard(url)
                except httpx.HTTPError:
                    pass
            if pending and time.monotonic() > deadline:
                raise AssertionError(f"{sorted(pending)} not ready within {READY_WITHIN_S:.0f}s\n{self.logs()}")
            time.sleep(0.2)
        return time.monotonic() - started

    def containers(self, deployment: str) -> list[str]:
        """The main containers of a Deployment's pods (podman names them <pod>-<container>)."""
        listed = podman("ps", "-a", "--format", "{{.Names}}").stdout.split()
        return sorted(n for n in listed if n.startswith(f"{self.prefix}mypay-sandbox-{deployment}-pod-")
                      and n.endswith("-sandbox"))

    def logs(self) -> str:
        out = []
        for name in podman("ps", "-a", "--format", "{{.Names}}").stdout.split():
            if name.startswith(self.prefix):
                out.append(f"--- {name}\n" + podman("logs", "--tail", "30", name, check=False).stderr[-3000:])
        return "\n".join(out)

    def _flush_redis(self) -> None:
        import redis

        client = redis.Redis.from_url(self.redis_url)
        try:
            client.flushdb()
        finally:
            client.close()

    def down(self) -> None:
        try:
            if self.played is not None:
                podman("kube", "down", str(self.played), check=False, timeout=300)
            if self.secret_name:
                podman("secret", "rm", self.secret_name, check=False)
        finally:
            try:
                admin_sql(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
            finally:
                self._flush_redis()
                shutil.rmtree(self.work, ignore_errors=True)
