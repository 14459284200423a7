"""Every install line of the README and the guides works as pasted, against what a release
publishes: each `pip install 'mypay-sandbox[…]'` runs in a fresh venv with this tree's wheel
found by name (`--find-links`, as PyPI would serve it) and every dependency from the real
package index, then the extra does what its guide uses it for; each `npm install` of
`mypay-sandbox-testcontainers` runs in a fresh project with the packed tarball in the name's
place (npm has no find-links), and the module loads. A line that names an extra the package
lacks, or a package that does not install, fails here before a reader meets it.

The installer is `uv pip install`, which takes pip's arguments: the pasted requirement is
passed as is, and it resolves against the same index in seconds rather than minutes."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest

from tests.release.project import NODE, REPO, VERSION, build_wheel

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
PIP = re.compile(r"pip install '(mypay-sandbox\[[a-z,]+\])'")
NPM = re.compile(r"^\s*(npm install [^#\n]*?\bmypay-sandbox-testcontainers)\s*(#.*)?$", re.M)
# What each extra is for, checked once it is installed (the venv's own commands and imports).
USES = {
    "pytest": ["python", "-m", "pytest", "--version"],
    "mcp": ["sandbox", "mcp", "--help"],
    "pact": ["sandbox", "pact", "verify", "--help"],
    "testcontainers": ["python", "-c", "import sandbox.testing.containers"],
}


def lines(pattern: re.Pattern[str]) -> list[tuple[str, str]]:
    return [(f"{page.relative_to(REPO)}:{page.read_text()[:m.start()].count(chr(10)) + 1}", m.group(1))
            for page in PAGES for m in pattern.finditer(page.read_text())]


PIP_LINES = lines(PIP)
NPM_LINES = lines(NPM)


def run(args: list[str], cwd: Path, timeout: float = 600) -> str:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    said = f"{done.stdout[-2000:]}{done.stderr[-3000:]}"
    assert done.returncode == 0, f"{shlex.join(args)} exited {done.returncode}:\n{said}"
    return done.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    build_wheel(out)
    return out


@pytest.fixture(scope="module")
def tarball(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("npm")
    run(["npm", "ci", "--no-audit", "--no-fund", "--silent"], NODE)
    run(["npm", "pack", "--silent", "--pack-destination", str(out)], NODE)
    return out / f"mypay-sandbox-testcontainers-{VERSION}.tgz"


def test_the_guides_have_install_lines_for_every_extra() -> None:
    extras = {requirement.split("[")[1].rstrip("]") for _, requirement in PIP_LINES}
    assert extras == set(USES), extras
    assert NPM_LINES


@pytest.mark.parametrize(("where", "requirement"), PIP_LINES, ids=[w for w, _ in PIP_LINES])
def test_a_pip_install_line_installs_the_built_wheel_by_name(where: str, requirement: str, dist: Path,
                                                              tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    run(["uv", "venv", "--quiet", "--python", "python3", str(venv)], tmp_path)
    run(["uv", "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), "--find-links", str(dist),
         requirement], tmp_path)
    said = run([str(venv / "bin" / "sandbox"), "--version"], tmp_path).strip()
    assert said == f"sandbox {VERSION}", where
    extra = requirement.split("[")[1].rstrip("]")
    use = USES[extra]
    run([str(venv / "bin" / use[0]), *use[1:]], tmp_path)


@pytest.mark.parametrize(("where", "line"), NPM_LINES, ids=[w for w, _ in NPM_LINES])
def test_an_npm_install_line_installs_the_packed_module(where: str, line: str, tarball: Path,
                                                        tmp_path: Path) -> None:
    run(["npm", "init", "-y"], tmp_path)
    args = [str(tarball) if word == "mypay-sandbox-testcontainers" else word for word in shlex.split(line)]
    run([*args, "--no-audit", "--no-fund"], tmp_path)
    run(["node", "-e", "const m = require('mypay-sandbox-testcontainers'); "
                       "if (typeof m.MyPaySandboxContainer !== 'function') process.exit(1)"], tmp_path)
    run(["node", "--input-type=module", "-e", "import { StartedMyPaySandboxContainer } from "
                       "'mypay-sandbox-testcontainers'; if (typeof StartedMyPaySandboxContainer !== 'function') "
                       "process.exit(1)"], tmp_path)
