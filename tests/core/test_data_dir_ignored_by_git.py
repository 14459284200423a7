"""The data dir `sandbox up` writes (keys, secrets, the databases: hundreds of files) carries its
own `.gitignore` of `*`, as uv's `.venv` does, so a project's `git status` never lists it, and a
`--fresh` wipe keeps it."""

from __future__ import annotations

import subprocess
from pathlib import Path

from sandbox.runtime import up


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=30).stdout


def test_the_data_dir_never_shows_in_git_status(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    data_dir = tmp_path / ".sandbox"
    lock = up._lock_data_dir(data_dir)
    try:
        (data_dir / "admin-key").write_text("sk_admin_secret")
        (data_dir / "redis").mkdir()
        (data_dir / "redis" / "dump.rdb").write_bytes(b"x")
        assert git(tmp_path, "status", "--porcelain", "--untracked-files=all") == ""
        assert (data_dir / ".gitignore").read_text().endswith("\n*\n")
        up._wipe_data_dir(data_dir)
        assert sorted(p.name for p in data_dir.iterdir()) == [".gitignore", ".lock"]
    finally:
        assert lock is not None
        lock.close()
