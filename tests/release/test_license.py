"""One license, Apache-2.0, said in the four places a reader or a legal review looks: the
LICENSE file and pyproject.toml's metadata (which the wheel carries), the Node package, the
image's label and the README. Change one and this fails until all say the same."""

from __future__ import annotations

import re

from tests.release.project import LICENSE_ID, PROJECT, REPO, containerfile_label, node_package


def test_the_license_file_is_the_apache_license_2_0() -> None:
    text = (REPO / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text
    assert LICENSE_ID == "Apache-2.0"
    assert PROJECT["license-files"] == ["LICENSE"]


def test_the_node_package_the_image_and_the_readme_name_the_same_license() -> None:
    assert node_package()["license"] == LICENSE_ID
    assert containerfile_label("licenses") == LICENSE_ID
    readme = (REPO / "README.md").read_text()
    assert re.search(rf"^## License\n\n.*\b{re.escape(LICENSE_ID)}\b.*\(LICENSE\)", readme, re.M | re.S), \
        "the README's License section names the SPDX id and links LICENSE"
