"""What the release tests read from the repository: the package's version and license as
pyproject.toml says them (the one source), and the other files that must say the same."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
NODE = REPO / "clients" / "testcontainers-node"
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
VERSION: str = PROJECT["version"]
LICENSE_ID: str = PROJECT["license"]


def node_package() -> dict:
    return json.loads((NODE / "package.json").read_text())


def containerfile_arg(name: str) -> str | None:
    """An ARG's default in the Containerfile (what a plain `docker build` labels)."""
    m = re.search(rf"^ARG {name}=(\S+)$", (REPO / "Containerfile").read_text(), re.M)
    return m.group(1) if m else None


def containerfile_label(name: str) -> str | None:
    """A LABEL's value as written (an ARG's `${…}` left as is)."""
    m = re.search(rf'org\.opencontainers\.image\.{re.escape(name)}="([^"]*)"', (REPO / "Containerfile").read_text())
    return m.group(1) if m else None


def build_wheel(out: Path) -> Path:
    """The wheel `uv build` makes of this tree (byte for byte the one its sdist makes:
    .ci/artifacts checks that), in `out`."""
    import subprocess

    subprocess.run(["uv", "build", "--quiet", "--wheel", "--out-dir", str(out)], cwd=REPO, check=True, timeout=300)
    return out / f"mypay_sandbox-{VERSION}-py3-none-any.whl"


def readme_taste_block() -> str:
    """The README's "A taste" block (a payout, its events, the ledger check), as a reader pastes it."""
    readme = (REPO / "README.md").read_text()
    m = re.search(r"^## A taste\n.*?^```bash\n(.*?)^```$", readme, re.M | re.S)
    assert m, "README.md has no bash block under ## A taste"
    return m.group(1)
