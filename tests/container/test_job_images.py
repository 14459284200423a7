"""The example jobs' images (examples/node, examples/php; built by `.ci/examples images`):
each holds its language's runtime and the HTTP tools the job uses, and no Python, so the
examples prove a job needs none to drive the sandbox."""

from __future__ import annotations

import subprocess

import pytest

from tests.container.podman import podman
from tests.container.test_image import REPO, pytestmark  # noqa: F401  (skipped without podman too)

RUNTIMES = {"node": "node --version", "php": "php --version"}


@pytest.fixture(scope="module")
def job_images() -> dict[str, str]:
    built = subprocess.run([str(REPO / ".ci" / "examples"), "images"], cwd=REPO, text=True,
                           stdout=subprocess.PIPE, timeout=1200)
    assert built.returncode == 0, ".ci/examples images failed (its output is above)"
    tags = built.stdout.split()
    return {name: next(t for t in tags if f"/mypay-example-{name}:" in t) for name in RUNTIMES}


@pytest.mark.parametrize("name", sorted(RUNTIMES))
def test_a_job_image_has_its_runtime_curl_and_jq_and_no_python(job_images, name):
    def sh(command: str) -> subprocess.CompletedProcess:
        return podman("run", "--rm", "--network", "none", "--entrypoint", "sh", job_images[name], "-c", command,
                      check=False)

    assert sh(f"{RUNTIMES[name]} && curl --version && jq --version").returncode == 0
    found = sh("command -v python3 python; ls /usr/bin/python3* /usr/local/bin/python3* 2>/dev/null; true")
    assert found.stdout.strip() == ""
