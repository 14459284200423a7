"""docs/testcontainers.md's blocks that need a container engine, run against one: the
Python block as the test module it is, under pytest; the Go block is the core of
examples/go/sandbox_test.go word for word (.ci/testcontainers runs that suite with go
test, and runs the Node block in a fresh project that installs the packed module)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pytest_codeblocks import extract_from_file

REPO = Path(__file__).resolve().parents[2]
GUIDE = REPO / "docs" / "testcontainers.md"


def blocks(syntax: str) -> list[str]:
    return [b.code for b in extract_from_file(GUIDE) if (b.syntax or "").strip() == syntax]


def test_the_python_block_passes_against_the_engine(engine, image, tmp_path):
    [code] = blocks("python")
    (tmp_path / "test_from_the_guide.py").write_text(code)
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "test_from_the_guide.py"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed" in run.stdout


def test_the_go_block_is_the_examples_own_code():
    [code] = blocks("go")
    assert code.strip() in (REPO / "examples" / "go" / "sandbox_test.go").read_text()
