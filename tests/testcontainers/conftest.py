"""The Testcontainers module against a real container engine: the one DOCKER_HOST names
(Docker, or Podman's Docker-compatible service), running the image MYPAY_SANDBOX_IMAGE
names. .ci/testcontainers starts Podman's service and builds the image; without an engine
that answers, or without an image named, every test here is skipped and says so."""

from __future__ import annotations

import os

import pytest


def _engine():
    """A docker client on the engine, or why there is none."""
    import docker

    try:
        client = docker.from_env(timeout=5)
        client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means: no engine to test against
        return None, f"no container engine answers (DOCKER_HOST={os.environ.get('DOCKER_HOST')!r}: {exc})"
    return client, ""


@pytest.fixture(scope="session")
def engine():
    client, why = _engine()
    if client is None:
        pytest.skip(why + "; .ci/testcontainers starts one")
    if not os.environ.get("MYPAY_SANDBOX_IMAGE"):
        pytest.skip("MYPAY_SANDBOX_IMAGE names no image to start; .ci/testcontainers builds and names one")
    yield client
    client.close()


@pytest.fixture(scope="session")
def image(engine) -> str:
    return os.environ["MYPAY_SANDBOX_IMAGE"]


def container_ids(engine) -> set[str]:
    """Every container the engine has, running or not."""
    return {c.id for c in engine.containers.list(all=True)}
