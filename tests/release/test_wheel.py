"""The wheel a release puts on PyPI: what it must carry for an installed sandbox to work
(the SQL its migrations load, the OpenAPI spec and the events' schemas, the guides
`sandbox mcp` serves, the dashboard's templates and static files, the seeds, the license),
its metadata (the license as an SPDX id, the two entry points), nothing it must not (tests,
caches), and a bound on its size."""

from __future__ import annotations

import subprocess
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from tests.release.project import REPO, VERSION, build_wheel

# 0.1.0 weighs 0.93 MB (28 Nov 2026): the bound leaves room to grow, and catches a data
# directory or a build output swept in by mistake.
MOST_BYTES = 1_500_000


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    with zipfile.ZipFile(build_wheel(tmp_path_factory.mktemp("dist"))) as built:
        yield built


def tracked(*patterns: str) -> list[str]:
    return subprocess.run(["git", "ls-files", "--", *patterns], cwd=REPO, capture_output=True, text=True,
                          check=True).stdout.split()


def test_the_wheel_carries_what_an_installed_sandbox_reads(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    wanted = {
        "the SQL": tracked("sandbox/sql/*.sql"),
        "the dashboard": tracked("sandbox/dashboard/static/*", "sandbox/dashboard/templates/*"),
        "the seeds": tracked("seeds/*"),
        "the OpenAPI spec and the events' schemas": [
            "sandbox/" + name for name in tracked("openapi/*.json", "openapi/events/*.json")],
        "the guides sandbox mcp serves": [
            name.replace("docs/", "sandbox/mcp/guides/", 1) for name in tracked("docs/*.md")],
        "the license": [f"mypay_sandbox-{VERSION}.dist-info/licenses/LICENSE"],
    }
    for what, files in wanted.items():
        assert files, what
        missing = sorted(set(files) - names)
        assert not missing, f"the wheel lacks {what}: {missing[:5]}"
    assert len(wanted["the OpenAPI spec and the events' schemas"]) > 1
    assert len(wanted["the guides sandbox mcp serves"]) > 10


def test_the_wheel_carries_nothing_it_must_not(wheel: zipfile.ZipFile) -> None:
    names = wheel.namelist()
    assert not [n for n in names if n.startswith(("tests/", "examples/", "clients/", ".ci/"))]
    assert not [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".tgz", ".whl"))]
    assert {n.split("/")[0] for n in names} == {
        "sandbox", "worker", "ipn", "seeds", "mypay_sandbox_pytest.py", f"mypay_sandbox-{VERSION}.dist-info"}


def test_the_wheels_metadata_names_the_license_and_the_entry_points(wheel: zipfile.ZipFile) -> None:
    info = f"mypay_sandbox-{VERSION}.dist-info"
    metadata = Parser().parsestr(wheel.read(f"{info}/METADATA").decode())
    assert (metadata["Name"], metadata["Version"]) == ("mypay-sandbox", VERSION)
    assert metadata["License-Expression"] == "Apache-2.0"
    assert metadata.get_all("License-File") == ["LICENSE"]
    assert {"mcp", "pact", "pytest", "testcontainers"} <= set(metadata.get_all("Provides-Extra"))
    entry_points = wheel.read(f"{info}/entry_points.txt").decode()
    assert "sandbox = sandbox.cli:main" in entry_points
    assert "[pytest11]\nmypay_sandbox = mypay_sandbox_pytest" in entry_points


def test_the_wheel_is_small(wheel: zipfile.ZipFile) -> None:
    size = Path(str(wheel.filename)).stat().st_size
    assert size <= MOST_BYTES, f"the wheel weighs {size:,} bytes, over {MOST_BYTES:,}"
