"""The GitHub Actions workflows, which cannot run here: each passes GitHub's workflow schema
(check-jsonschema's own copy: no network), pins every action to a full commit with its tag
beside it, and does what docs/contributing.md says a pull request and a release do. The
release's text is CHANGELOG.md's section, as .ci/changelog-section prints it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.release.project import REPO, VERSION

WORKFLOWS = REPO / ".github" / "workflows"
CHECK = Path(sys.executable).parent / "check-jsonschema"


def load(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def steps(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def runs(workflow: dict) -> str:
    return "\n".join(step.get("run", "") for step in steps(workflow))


@pytest.mark.parametrize("name", ["ci.yml", "release.yml"])
def test_the_workflow_passes_githubs_schema(name: str) -> None:
    checked = subprocess.run([str(CHECK), "--builtin-schema", "vendor.github-workflows", str(WORKFLOWS / name)],
                             capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize("name", ["ci.yml", "release.yml"])
def test_every_action_is_pinned_to_a_commit_with_its_tag_beside_it(name: str) -> None:
    lines = [line for line in (WORKFLOWS / name).read_text().splitlines() if re.match(r"\s*(- )?uses:", line)]
    assert lines
    for line in lines:
        assert re.fullmatch(r"\s*(- )?uses: [\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+)*", line), line


def test_a_pull_request_runs_the_readmes_test_command_and_the_fast_lane() -> None:
    ci = load("ci.yml")
    assert "pull_request" in ci.get(True, ci.get("on"))  # YAML 1.1 reads `on` as True
    readme = (REPO / "README.md").read_text()
    assert "    uv run pytest          # the whole suite" in readme
    assert re.search(r"^uv run pytest$", runs(ci), re.M)
    assert 'uv run pytest -m "not process"' in readme and 'uv run pytest -m "not process"' in runs(ci)


def test_a_release_tests_builds_once_and_publishes_everywhere_with_provenance() -> None:
    release = load("release.yml")
    on = release.get(True, release.get("on"))
    assert on == {"push": {"tags": ["v*"]}}
    jobs = release["jobs"]
    assert "uv run pytest" in runs({"jobs": {"check": jobs["check"]}})
    assert "uv build" in runs({"jobs": {"build": jobs["build"]}})
    # PyPI by trusted publishing: an OIDC token, no password or API token anywhere.
    pypi = jobs["pypi"]
    assert pypi["permissions"] == {"id-token": "write"}
    (publish,) = [s for s in pypi["steps"] if s.get("uses", "").startswith("pypa/gh-action-pypi-publish@")]
    assert not {"password", "user"} & set(publish.get("with", {}))
    # The image from the built wheel, two architectures, SBOM and provenance, pushed by digest
    # only; tagged and attested once everything is built.
    image = jobs["image-build"]
    assert "build" in image["needs"]
    (push,) = [s for s in image["steps"] if s.get("uses", "").startswith("docker/build-push-action@")]
    assert push["with"]["platforms"] == "linux/amd64,linux/arm64"
    assert push["with"]["sbom"] is True and push["with"]["provenance"].startswith("mode=")
    assert "WHEEL=dist/mypay_sandbox-" in push["with"]["build-args"]
    assert "push-by-digest=true" in push["with"]["outputs"] and "tags" not in push["with"]
    assert "linux/arm64" in runs({"jobs": {"i": image}})  # the arm64 image is started, not only built
    tagged = jobs["image-publish"]
    assert any(s.get("uses", "").startswith("actions/attest-build-provenance@") for s in tagged["steps"])
    assert tagged["permissions"]["id-token"] == "write" and tagged["permissions"]["attestations"] == "write"
    # npm with provenance, which needs the job's OIDC token.
    assert "npm publish --provenance" in runs({"jobs": {"npm": jobs["npm"]}})
    assert jobs["npm"]["permissions"]["id-token"] == "write"
    # The GitHub release after every registry has it, its text the changelog's section.
    assert set(jobs["github-release"]["needs"]) >= {"pypi", "image-publish", "npm"}
    assert ".ci/changelog-section" in runs({"jobs": {"r": jobs["github-release"]}})


def test_the_release_notes_are_the_changelogs_section_for_the_version() -> None:
    notes = subprocess.run(["bash", str(REPO / ".ci" / "changelog-section"), VERSION],
                           capture_output=True, text=True, timeout=30, check=True).stdout
    changelog = (REPO / "CHANGELOG.md").read_text()
    section = changelog.split(f"## [{VERSION}] - ", 1)[1].split("\n", 1)[1].split("\n## [", 1)[0]
    section = re.sub(r"^\[[^\]]+\]: .*$", "", section, flags=re.M).strip()
    assert notes.strip() == section and "### Added" in notes
    missing = subprocess.run(["bash", str(REPO / ".ci" / "changelog-section"), "99.0.0"],
                             capture_output=True, text=True, timeout=30)
    assert missing.returncode == 1 and "no section" in missing.stderr


# What each publishing command looks like in a step, and the jobs that build what is published.
PUBLISHES = ("pypa/gh-action-pypi-publish@", "npm publish", "imagetools create", "gh release create",
             "actions/attest-build-provenance@")
BUILDS = {"build", "npm-build", "image-build"}


def needs_of(jobs: dict, name: str) -> set[str]:
    """Every job `name` waits for, directly or through the jobs it needs."""
    direct = jobs[name].get("needs", [])
    direct = [direct] if isinstance(direct, str) else direct
    return set(direct).union(*(needs_of(jobs, need) for need in direct))


def test_nothing_is_published_before_every_artifact_is_built() -> None:
    jobs = load("release.yml")["jobs"]
    assert BUILDS <= set(jobs)
    publishing = {name for name, job in jobs.items()
                  if any(p in step.get("run", "") or step.get("uses", "").startswith(p)
                         for step in job.get("steps", []) for p in PUBLISHES)}
    assert publishing == {"pypi", "npm", "image-publish", "github-release"}
    for name in publishing:
        assert needs_of(jobs, name) >= BUILDS, f"{name} may publish before {BUILDS - needs_of(jobs, name)} built"
    assert not publishing & BUILDS
    # The GitHub release last: after every registry has the version.
    assert needs_of(jobs, "github-release") >= publishing - {"github-release"}


def test_a_publish_job_re_run_after_a_partial_release_succeeds_without_a_new_version() -> None:
    jobs = load("release.yml")["jobs"]
    (pypi,) = [s for s in jobs["pypi"]["steps"] if s.get("uses", "").startswith("pypa/gh-action-pypi-publish@")]
    assert pypi["with"]["skip-existing"] is True
    assert 'npm view "$name@$VERSION" version' in runs({"jobs": {"n": jobs["npm"]}})
    assert "gh release view" in runs({"jobs": {"g": jobs["github-release"]}})


def test_the_arm64_image_reaches_ready_and_pays_out_before_anything_is_published() -> None:
    """macOS arm64 is the laptop most integrators carry: the image built for linux/arm64 is run
    under emulation, brought to ready and made to pay out, and every publishing job waits for
    that (a failure there publishes nothing and spends no version)."""
    jobs = load("release.yml")["jobs"]
    job = jobs["arm64-ready"]
    assert needs_of(jobs, "arm64-ready") >= {"image-build"}
    uses = [step.get("uses", "") for step in job["steps"]]
    assert any(u.startswith("docker/setup-qemu-action@") for u in uses), uses
    script = runs({"jobs": {"arm64-ready": job}})
    assert "--platform linux/arm64" in script and '"$IMAGE@$DIGEST"' in script
    assert "needs.image-build.outputs.digest" in str(job["steps"])
    assert '[ "$arch" = aarch64 ]' in script  # emulated, not the runner's own amd64
    ready, payout, success = (script.find(s) for s in ('"$API/ready"', '"$API/payouts"', '.status == "success"'))
    assert -1 < ready < payout < success, "ready, then a payout, then its success"
    assert "balance/verify" in script and "docker stop" in script
    assert not any(p in script or u.startswith(p) for p in PUBLISHES for u in uses)
    for name in ("pypi", "npm", "image-publish", "github-release"):
        assert "arm64-ready" in needs_of(jobs, name), f"{name} may publish before arm64 reached ready"
