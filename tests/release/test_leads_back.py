"""A package that leads back to its repository: the wheel's Project-URLs, the long description
PyPI shows (the README, its links made absolute by hatch_build.py) with every link landing on
a file of the repository at the release's tag, the npm package's repository, homepage and
bugs, the one image path the guides use, SECURITY.md's address, and the README's line that
installs the package by name. The repository's address is said once, in pyproject.toml."""

from __future__ import annotations

import email
import re
import subprocess
import zipfile

import pytest
import yaml

from tests.release.project import NODE, PROJECT, REPO, VERSION, build_wheel, node_package

URLS: dict[str, str] = PROJECT["urls"]
REPOSITORY = URLS["Repository"]
OWNER_AND_NAME = REPOSITORY.removeprefix("https://github.com/")
IMAGE = f"ghcr.io/{OWNER_AND_NAME.lower()}"
PLACEHOLDER = "your" + "-org"  # what the guides said before the repository was named once


def tracked_files() -> set[str]:
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, capture_output=True,
                            text=True, check=True, timeout=60).stdout
    return set(listed.splitlines())


@pytest.fixture(scope="module")
def metadata(tmp_path_factory) -> email.message.Message:
    wheel = build_wheel(tmp_path_factory.mktemp("wheel"))
    with zipfile.ZipFile(wheel) as whl:
        return email.message_from_bytes(whl.read(f"mypay_sandbox-{VERSION}.dist-info/METADATA"))


def test_the_wheel_names_where_it_comes_from(metadata) -> None:
    said = dict(url.split(", ", 1) for url in metadata.get_all("Project-URL"))
    assert set(said) == {"Homepage", "Documentation", "Repository", "Issues", "Changelog"}
    assert all(url.startswith(REPOSITORY) for url in said.values()), said


def test_every_link_of_the_long_description_lands_on_a_file_at_the_tag(metadata) -> None:
    description = metadata.get_payload()
    assert metadata["Description-Content-Type"] == "text/markdown"
    targets = re.findall(r"\]\(([^)\s]+)\)", description)
    assert len(targets) >= 20
    files = tracked_files()
    ours = [t for t in targets if t.startswith(REPOSITORY)]
    for target in ours:
        m = re.fullmatch(rf"{re.escape(REPOSITORY)}/(blob|tree)/v{re.escape(VERSION)}/([^#]+)(#.*)?", target)
        assert m, f"not a file at the tag v{VERSION}: {target}"
        path = m[2].rstrip("/")
        assert path in files or any(f.startswith(path + "/") for f in files), f"no such file: {path}"
    # Every other link is absolute too (a site's own page, the local server): none left relative.
    assert all(re.match(r"[a-z]+:", t) for t in targets if not t.startswith("#")), targets
    # And every relative link of the README is among them.
    readme = (REPO / "README.md").read_text()
    assert len(ours) == len([t for t in re.findall(r"\]\(([^)\s]+)\)", readme) if not re.match(r"[a-z]+:|#", t)])


def test_the_npm_package_leads_to_the_same_repository() -> None:
    package = node_package()
    assert package["repository"] == {"type": "git", "url": f"git+{REPOSITORY}.git",
                                      "directory": "clients/testcontainers-node"}
    assert package["homepage"].startswith(REPOSITORY)
    assert package["bugs"] == {"url": URLS["Issues"]}


def test_one_image_path_everywhere() -> None:
    said = set()
    for name in tracked_files():
        path = REPO / name
        if path.suffix in {".md", ".yml", ".yaml", ".ts", ".js", ".py", ".json", ""} and path.is_file():
            text = path.read_text(errors="replace")
            assert PLACEHOLDER not in text, name
            said |= {(m, name) for m in re.findall(r"ghcr\.io/[\w.-]+/mypay-sandbox", text)}
    assert said and {image for image, _ in said} == {IMAGE}, said
    # The release pushes it under the repository it runs in, and refuses to run elsewhere.
    check = yaml.safe_load((REPO / ".github/workflows/release.yml").read_text())["jobs"]["check"]
    assert any("Repository" in step.get("run", "") and "GITHUB_REPOSITORY" in step.get("run", "")
               for step in check["steps"])


def test_security_reports_go_to_an_address() -> None:
    assert f"{REPOSITORY}/security/advisories/new" in (REPO / "SECURITY.md").read_text()


def test_the_readme_installs_it_by_name_beside_the_clone() -> None:
    readme = (REPO / "README.md").read_text()
    assert "uvx mypay-sandbox up" in readme
    assert "uv add --dev 'mypay-sandbox[pytest]'" in readme and "pipx run mypay-sandbox up" in readme
    assert f"git clone {REPOSITORY}" in readme



def test_the_readmes_lines_by_name_say_they_answer_404_until_the_first_release() -> None:
    """As the image's line says it has nothing to pull until then: a newcomer who runs `uvx`
    before the first release reads why it is not found, and what to do instead."""
    readme = (REPO / "README.md").read_text()
    for command in ("uvx mypay-sandbox up", "pipx run mypay-sandbox up"):
        (line,) = [line for line in readme.splitlines() if line.strip().startswith(command)]
        assert "404 until the first" in line, line
    assert "answers 404 (not found), so use the clone above" in readme
    assert "(until the first release, built from the `Containerfile`)" in readme.replace("\n", " ")


def test_the_node_modules_readme_says_its_default_image_is_a_local_builds_name() -> None:
    """`mypay-sandbox:latest` is what `docker build -t mypay-sandbox .` makes, and no registry
    has it: the npm page says so, and names the published image, before its first example."""
    readme = (NODE / "README.md").read_text()
    default = re.search(r'DEFAULT_IMAGE = "([^"]+)"', (NODE / "src" / "index.ts").read_text())
    assert default and default.group(1) == "mypay-sandbox:latest"
    before = readme[:readme.index("```js")]
    assert "`mypay-sandbox:latest`, the name a local build" in before
    assert "docker build -t mypay-sandbox ." in before and "ghcr.io/mypay/mypay-sandbox:VERSION" in before
    assert "MYPAY_SANDBOX_IMAGE" in before
