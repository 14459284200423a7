"""Every environment variable sandbox/settings.py reads is in docs/configuration.md: a
setting nobody can find is a setting nobody can use. A row may name several that share a
prefix (`SANDBOX_DB_POOL_MIN` / `_MAX`): a name starting with `_` continues the row's
first full name from one of its `_` boundaries."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
READ = re.compile(r'"((?:SANDBOX|MYPAY)_[A-Z0-9_]+)"')
NAME = re.compile(r"`((?:SANDBOX|MYPAY)_[A-Z0-9_]+|_[A-Z0-9_]+)`")


def documented(page: str) -> set[str]:
    names: set[str] = set()
    for line in page.splitlines():
        full: str | None = None
        named = line.split("|")[1] if line.startswith("|") else line  # a table row names them in its first cell
        for name in NAME.findall(named):
            if not name.startswith("_"):
                full = name
                names.add(name)
            elif full is not None:  # `_MAX` after `SANDBOX_DB_POOL_MIN`: every prefix of it, cut at a `_`
                cuts = [m.start() for m in re.finditer("_", full)]
                names.update(full[:i] + name for i in cuts)
    return names


def test_every_setting_is_documented():
    read = set(READ.findall((REPO / "sandbox" / "settings.py").read_text()))
    missing = read - documented((REPO / "docs" / "configuration.md").read_text())
    assert read and not missing, f"read in sandbox/settings.py, missing from docs/configuration.md: {sorted(missing)}"


def test_the_check_can_fail():
    assert "SANDBOX_REQUEST_LOG_MAX" not in documented("| `SANDBOX_REQUEST_LOG_HOURS` | `24` | … |")
    assert "SANDBOX_DB_POOL_MAX" in documented("| `SANDBOX_DB_POOL_MIN` / `_MAX` | `2` / `20` | … |")
