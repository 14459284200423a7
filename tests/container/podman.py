"""`podman` as this machine needs it, for the tests that drive the image (tests/container,
tests/kubernetes)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path


def podman_env() -> dict[str, str]:
    """Without a CONTAINERS_CONF of the caller's, one that sets no default rlimits: podman's
    defaults raise them, which a machine that withholds that capability refuses (every
    start fails). .ci/container writes the same."""
    env = dict(os.environ)
    if not env.get("CONTAINERS_CONF"):
        conf = Path(tempfile.gettempdir()) / "mypay-sandbox-test-containers.conf"
        conf.write_text("[containers]\ndefault_ulimits = []\n")
        env["CONTAINERS_CONF"] = str(conf)
    return env


def podman(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
    # runc: crun refuses some hosts' hybrid cgroup layout.
    runtime = ["--runtime", "runc"] if shutil.which("runc") else []
    return subprocess.run(["podman", *runtime, *args], check=check, timeout=timeout, text=True,
                          capture_output=True, env=podman_env())
