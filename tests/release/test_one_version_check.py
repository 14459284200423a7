"""`.ci/one-version`, the check .ci/run and the release make, on copies of the files it reads
in a repository of their own, each with one thing changed: it passes what a release in the
making looks like and fails each disagreement, saying which."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.release.project import REPO, VERSION

FILES = ["pyproject.toml", "Containerfile", "CHANGELOG.md", "clients/testcontainers-node/package.json",
         "clients/testcontainers-node/package-lock.json", ".ci/one-version"]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    for name in FILES:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / name, tmp_path / name)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run([*git, "add", "-A"], cwd=tmp_path, check=True)
    subprocess.run([*git, "commit", "-qm", "x"], cwd=tmp_path, check=True)
    return tmp_path


def check(repo: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(repo / ".ci" / "one-version"), *args], cwd=repo, capture_output=True,
                          text=True, timeout=60, env={**os.environ, "PYTHON": sys.executable})


def unreleased(repo: Path, entries: list[str]) -> None:
    path = repo / "CHANGELOG.md"
    listed = "".join(f"- {e}\n" for e in entries)
    text = re.sub(r"(?ms)^## \[Unreleased\]\n.*?(?=^## \[)", "## [Unreleased]\n\n" + listed + "\n", path.read_text())
    path.write_text(text)


def test_an_unpublished_version_may_have_unreleased_entries_above_it_but_cannot_be_released_so(repo) -> None:
    unreleased(repo, ["a change"])
    assert check(repo).returncode == 0
    refused = check(repo, "--release")
    assert refused.returncode == 1 and "1 entries still under [Unreleased]" in refused.stderr
    unreleased(repo, [])
    assert check(repo, "--release").returncode == 0


def test_entries_under_a_published_version_fail(repo) -> None:
    subprocess.run(["git", "tag", f"v{VERSION}"], cwd=repo, check=True)
    unreleased(repo, [])
    assert check(repo).returncode == 0
    unreleased(repo, ["a change", "another"])
    failed = check(repo)
    assert failed.returncode == 1
    assert f"published as v{VERSION}" in failed.stderr and "set the next version" in failed.stderr


def test_a_version_said_differently_fails(repo) -> None:
    package = repo / "clients/testcontainers-node/package.json"
    package.write_text(package.read_text().replace(f'"version": "{VERSION}"', '"version": "9.9.9"', 1))
    failed = check(repo)
    assert failed.returncode == 1 and "package.json says 9.9.9" in failed.stderr


def test_a_changelog_whose_newest_section_is_neither_the_version_nor_published_fails(repo) -> None:
    pyproject = repo / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace(f'version = "{VERSION}"', 'version = "9.9.9"', 1))
    for name in ("Containerfile",):
        (repo / name).write_text((repo / name).read_text().replace(f"ARG VERSION={VERSION}", "ARG VERSION=9.9.9"))
    failed = check(repo)
    assert failed.returncode == 1 and f"newest released section is {VERSION}" in failed.stderr
    subprocess.run(["git", "tag", f"v{VERSION}"], cwd=repo, check=True)  # a cycle under way after a release
    assert "newest released section" not in check(repo).stderr
