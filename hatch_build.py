"""The package's long description (what PyPI shows): README.md with every relative link made
absolute, to the file in the repository at the release's tag (`<Repository>/blob/v<version>/…`),
since PyPI and npm cannot follow a relative one. The repository is the one URL pyproject.toml's
[project.urls] names `Repository`; tests/release/test_long_description.py checks every link
lands on a file. A hatchling metadata hook (pyproject.toml, [tool.hatch.metadata.hooks.custom])."""

from __future__ import annotations

import re
from pathlib import Path

from hatchling.metadata.plugin.interface import MetadataHookInterface

# A Markdown link's or image's target, when it is relative: not a scheme, not a page anchor.
RELATIVE = re.compile(r"(\]\()(?![a-z][a-z0-9+.-]*:|#)([^)\s]+)(\))", re.I)


def absolute_links(text: str, repository: str, version: str) -> str:
    def absolute(m: re.Match) -> str:
        kind = "tree" if m[2].split("#")[0].endswith("/") else "blob"  # a folder, or a file
        return f"{m[1]}{repository.rstrip('/')}/{kind}/v{version}/{m[2]}{m[3]}"

    return RELATIVE.sub(absolute, text)


class CustomMetadataHook(MetadataHookInterface):
    def update(self, metadata: dict) -> None:
        readme = (Path(self.root) / "README.md").read_text(encoding="utf-8")
        metadata["readme"] = {
            "content-type": "text/markdown",
            "text": absolute_links(readme, metadata["urls"]["Repository"], metadata["version"]),
        }
