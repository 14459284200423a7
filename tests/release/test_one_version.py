"""One version, said everywhere: pyproject.toml's `version` is the only source, and each place
a user reads a version says it: `sandbox --version`, GET /health, the MCP server's handshake
(its `serverInfo`), the Node package (and its lock file), the image's label (the Containerfile's
default; the built image's own label and `--version` are checked by tests/container), and the
changelog's newest released section. Bump one alone and this fails."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from tests.release.project import NODE, REPO, VERSION, containerfile_arg, containerfile_label, node_package


def test_the_cli_says_the_package_version() -> None:
    said = subprocess.run([str(Path(sys.executable).parent / "sandbox"), "--version"],
                          capture_output=True, text=True, timeout=60, check=True).stdout.strip()
    assert said == f"sandbox {VERSION}"


async def test_health_says_the_package_version(anonymous) -> None:
    assert (await anonymous.get("/health")).json()["version"] == VERSION


def test_the_mcp_server_says_the_package_version() -> None:
    from sandbox.mcp.connection import Sandbox
    from sandbox.mcp.server import build

    # What `initialize` answers as serverInfo.version (.ci/artifacts reads it from a real handshake).
    assert build(Sandbox("http://127.0.0.1:9", admin_key="sk_admin_version_test_0000", deadline_s=5)).version == VERSION


def test_the_node_package_says_the_package_version() -> None:
    assert node_package()["version"] == VERSION
    lock = json.loads((NODE / "package-lock.json").read_text())
    assert lock["version"] == VERSION and lock["packages"][""]["version"] == VERSION


def test_the_image_is_labelled_with_the_package_version() -> None:
    assert containerfile_arg("VERSION") == VERSION
    assert containerfile_label("version") == "${VERSION}"


def test_the_changelog_has_a_section_for_the_version_and_one_for_what_is_unreleased() -> None:
    changelog = (REPO / "CHANGELOG.md").read_text()
    assert re.search(r"^## \[Unreleased\]$", changelog, re.M)
    released = re.findall(r"^## \[(\d+\.\d+\.\d+[^\]]*)\] - \d{4}-\d{2}-\d{2}$", changelog, re.M)
    assert released and released[0] == VERSION, f"the newest released section is {released[:1]}, the package {VERSION}"
