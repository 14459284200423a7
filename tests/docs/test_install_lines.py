"""Every install line of the README and the guides works as pasted, against what a release
publishes: each `pip install 'mypay-sandbox[…]'` runs in a fresh venv with this tree's wheel
found by name (`--find-links`, as PyPI would serve it) and every dependency from the real
package index, then the extra does what its guide uses it for; each line that gets it by name
with uv, pipx or a bare `pip install` (`uvx mypay-sandbox up`, `pipx run mypay-sandbox up`,
`uv add --dev …`) runs as pasted in a fresh folder, the built wheel found the same way
(UV_FIND_LINKS, PIP_FIND_LINKS), and what it installs answers: `up` serves /api/v1/ready
and stops on SIGTERM, a project's `uv run sandbox` and its extra work; each `npm install` of
`mypay-sandbox-testcontainers` runs in a fresh project with the packed tarball in the name's
place (npm has no find-links), and the module loads. A line that names an extra the package
lacks, or a package that does not install, fails here before a reader meets it.

The installer is `uv pip install`, which takes pip's arguments: the pasted requirement is
passed as is, and it resolves against the same index in seconds rather than minutes."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.helpers import free_port
from tests.release.project import NODE, REPO, VERSION, build_wheel

# Installing each line takes the suite's two slowest minutes (a wheel built, fresh venvs and
# projects resolving from the index, `npm ci`): what a release publishes is checked by
# .ci/artifacts, which runs these with SANDBOX_INSTALL_LINES=1; the README's `uv run pytest`
# keeps the two checks that read the lines.
INSTALLING = pytest.mark.skipif(not os.environ.get("SANDBOX_INSTALL_LINES"),
                                reason="installing the lines is part of .ci/artifacts (docs/contributing.md)")

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


# By name with uv or pipx, or pip with no extra (with one, it is PIP above); a line's own
# command, or one a comment offers (`# or: uv add …`).
BY_NAME = re.compile(r"(?:^[ \t]*|#[ \t]*or:[ \t]*)((?:uvx|pipx run|pipx install|uv tool install|uv add(?: --dev)?"
                     r"|pip install) (?:mypay-sandbox|'mypay-sandbox\[[a-z,]+\]')(?: up)?)(?=\s|$)", re.M)


PIP_LINES = lines(PIP)
NPM_LINES = lines(NPM)
# Each command once, with every place that gives it.
BY_NAME_LINES = sorted({line: [w for w, same in lines(BY_NAME) if same == line]
                        for _, line in lines(BY_NAME) if not line.startswith("pip install '")}.items())


def run(args: list[str], cwd: Path, timeout: float = 600, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
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


@INSTALLING
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


def test_the_readme_installs_it_by_name_with_uvx_pipx_and_uv_add():
    commands = {line.split(" mypay-sandbox")[0].split(" '")[0] for line, _ in BY_NAME_LINES}
    assert {"uvx", "pipx run", "uv add --dev"} <= commands, commands


def user_env(tmp_path: Path, dist: Path) -> dict[str, str]:
    """A reader's shell: none of this run's sandbox, pytest or venv settings; the built wheel
    found by name by uv, pip and pipx (whichever it drives), pipx's home a fresh one."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SANDBOX_", "MYPAY_", "PYTEST_", "UV_PROJECT"))
           and k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    bin_dir = str(Path(sys.executable).parent)  # pipx, a dev dependency, is there
    return env | {"UV_FIND_LINKS": str(dist), "PIP_FIND_LINKS": str(dist), "PIPX_HOME": str(tmp_path / "pipx"),
                  "PIPX_BIN_DIR": str(tmp_path / "bin"), "PATH": f"{env['PATH']}{os.pathsep}{bin_dir}"}


def serves(args: list[str], cwd: Path, env: dict[str, str]) -> None:
    """`… up` until /api/v1/ready answers, then SIGTERM: it exits 0 and the API is gone."""
    port = free_port()
    env = env | {"SANDBOX_DATA_DIR": str(cwd / "data"), "SANDBOX_API_PORT": str(port),
                 "SANDBOX_IPN_PORT": str(free_port()), "SANDBOX_TIME_SCALE": "0"}
    ready = f"http://127.0.0.1:{port}/api/v1/ready"
    with open(cwd / "up.log", "wb") as log:
        up = subprocess.Popen(args, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 300  # an install, then a cold start, on a loaded machine
        while not answers(ready):
            assert up.poll() is None, f"{shlex.join(args)} exited {up.returncode}:\n{tail(cwd / 'up.log')}"
            assert time.monotonic() < deadline, f"{ready} did not answer within 300 s:\n{tail(cwd / 'up.log')}"
            time.sleep(0.2)
        up.send_signal(signal.SIGTERM)
        assert up.wait(timeout=60) == 0, tail(cwd / "up.log")
        assert not answers(ready)
    finally:
        if up.poll() is None:
            up.kill()
            up.wait()


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def tail(path: Path) -> str:
    return path.read_text(errors="replace")[-3000:]


PLUGIN_TEST = """def test_a_payout_succeeds(mypay_merchant):
    payout = mypay_merchant.payout("success")
    assert mypay_merchant.wait_for_status(payout["id"], "success", timeout=60)["status"] == "success"
"""


@INSTALLING
@pytest.mark.parametrize(("line", "where"), BY_NAME_LINES, ids=[line for line, _ in BY_NAME_LINES])
def test_a_line_that_installs_it_by_name_works_as_pasted(line: str, where: list[str], dist: Path,
                                                          tmp_path: Path) -> None:
    env = user_env(tmp_path, dist)
    words = shlex.split(line)
    extra = re.search(r"\[([a-z,]+)\]", line)
    if words[-1] == "up":  # uvx, pipx run: the environment is theirs
        serves(words, tmp_path, env)
        return
    if words[0] == "pip":  # a venv's own pip, first on PATH as in an activated venv
        run(["uv", "venv", "--quiet", "--seed", str(tmp_path / "venv")], tmp_path, env=env)
        env |= {"PATH": f"{tmp_path / 'venv' / 'bin'}{os.pathsep}{env['PATH']}", "VIRTUAL_ENV": str(tmp_path / "venv")}
        run(words, tmp_path, env=env)
        sandbox = [str(tmp_path / "venv" / "bin" / "sandbox")]
    else:  # uv add: in a project of one's own
        run(["uv", "init", "--quiet", "--bare", "--name", "integrator"], tmp_path, env=env)
        run(words, tmp_path, env=env)
        lock = (tmp_path / "uv.lock").read_text()
        assert f'name = "mypay-sandbox"\nversion = "{VERSION}"\nsource = {{ registry = "{dist}" }}' in lock, where
        sandbox = ["uv", "run", "sandbox"]
    assert run([*sandbox, "--version"], tmp_path, env=env).strip() == f"sandbox {VERSION}", where
    if words[0] == "pip":
        run([*sandbox, "listen", "--help"], tmp_path, env=env)  # what running-in-ci.md installs it for
    elif extra and extra.group(1) == "pytest":  # the README's "and the pytest plugin"
        (tmp_path / "test_payout.py").write_text(PLUGIN_TEST)
        run(["uv", "run", "pytest", "-q", "-p", "no:cacheprovider"], tmp_path, env=env | {"SANDBOX_TIME_SCALE": "0"})
    elif extra:
        run(["uv", "run", *USES[extra.group(1)]], tmp_path, env=env)


@INSTALLING
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
