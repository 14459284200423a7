"""Every `yaml` block of the README and the guides is a file a reader pastes into a CI
system: it must load, and pass the schema that system checks it against (check-jsonschema's
own copies of the GitHub workflow, GitLab CI and Compose schemas: no network). Its steps
must fail fast (strict bash, every wait with a deadline) and be a bash script; running them
against the image is .ci/ci-snippets', since the image exists only in CI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.docs.ci_snippets import SCHEMAS, YOUR_TESTS, kind, script, yaml_blocks

REPO = Path(__file__).resolve().parents[2]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
BLOCKS = [(page, line, code) for page in PAGES for line, code in yaml_blocks(page)]
CHECK = Path(sys.executable).parent / "check-jsonschema"


def ids() -> list[str]:
    return [f"{page.relative_to(REPO)}:{line}" for page, line, _ in BLOCKS]


def validate(schema: str, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CHECK), "--builtin-schema", schema, str(path)],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(("page", "line", "code"), BLOCKS, ids=ids())
def test_yaml_block_is_a_valid_ci_file(page: Path, line: int, code: str, tmp_path: Path) -> None:
    where = f"{page.relative_to(REPO)}:{line}"
    try:
        doc = yaml.safe_load(code)
    except yaml.YAMLError as e:
        pytest.fail(f"{where}: not YAML: {e}")
    k = kind(doc)
    assert k is not None, f"{where}: a yaml block that is no GitHub workflow, GitLab CI or Compose file"
    (tmp_path / "pasted.yml").write_text(code)
    checked = validate(SCHEMAS[k], tmp_path / "pasted.yml")
    assert checked.returncode == 0, f"{where}: {k} would refuse it:\n{checked.stdout}{checked.stderr}"


CI_BLOCKS = [(p, line, code) for p, line, code in BLOCKS
             if kind(yaml.safe_load(code)) in ("github-workflows", "gitlab-ci")]


@pytest.mark.parametrize(("page", "line", "code"), CI_BLOCKS,
                         ids=[f"{p.relative_to(REPO)}:{line}" for p, line, _ in CI_BLOCKS])
def test_ci_snippet_fails_fast(page: Path, line: int, code: str) -> None:
    """Strict bash for every step, a deadline for every wait, one place for the reader's tests,
    and steps that are bash (checked with `bash -n`; run against the image by .ci/ci-snippets)."""
    where = f"{page.relative_to(REPO)}:{line}"
    doc = yaml.safe_load(code)
    if kind(doc) == "github-workflows":
        shells = [doc.get("defaults", {}).get("run", {}).get("shell", "")]
        (job,) = doc["jobs"].values()
        runs = [step["run"] for step in job["steps"] if "run" in step]
        shells += [step["shell"] for step in job["steps"] if "shell" in step]
        assert all("-euo pipefail" in s for s in shells), f"{where}: a step runs without bash -euo pipefail: {shells}"
    else:
        (job,) = (v for v in doc.values() if isinstance(v, dict) and "script" in v)
        runs = [*job.get("before_script", []), *job["script"]]
        assert runs[0].strip() == "set -euo pipefail", f"{where}: the job's shell does not start with set -euo pipefail"
    assert [r.strip() for r in runs].count(YOUR_TESTS) == 1, f"{where}: no single {YOUR_TESTS!r} for the reader's tests"
    for run in runs:
        if "until " in run:
            assert "deadline" in run and "exit 1" in run, f"{where}: a wait without a deadline:\n{run}"
    syntax = subprocess.run(["bash", "-n"], input=script(doc, 8000, 8001, "mypay", "true"),
                            capture_output=True, text=True)
    assert syntax.returncode == 0, f"{where}: its steps are not bash: {syntax.stderr}"


def test_docker_compose_file_is_valid() -> None:
    checked = validate(SCHEMAS["compose-spec"], REPO / "docker-compose.yml")
    assert checked.returncode == 0, f"docker-compose.yml:\n{checked.stdout}{checked.stderr}"
