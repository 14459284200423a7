"""Loading a database function's version file (see the package's docstring) from a
migration: `load(name, 2)` forwards, `load(name, 1)` backwards."""

from __future__ import annotations

import re
from pathlib import Path

FOLDER = Path(__file__).parent
_VERSION_FILE = re.compile(r"^v(\d+)\.sql$")

# A function whose arguments or result change cannot be replaced in place: whatever
# version is there goes first. Trigger functions (no arguments, `RETURNS trigger`) are
# replaced in place instead: their triggers depend on them, and their signature never
# changes.
_DROP_ANY_VERSION = """
DO $$
DECLARE f regprocedure;
BEGIN
    FOR f IN SELECT p.oid FROM pg_proc p
              WHERE p.proname = '{name}' AND p.pronamespace = current_schema()::text::regnamespace
                AND p.prorettype <> 'trigger'::regtype LOOP
        EXECUTE format('DROP FUNCTION %s', f);
    END LOOP;
END $$
"""


def names() -> list[str]:
    """Every function that has a folder of versions."""
    return sorted(p.name for p in FOLDER.iterdir() if p.is_dir() and versions(p.name))


def versions(name: str) -> list[int]:
    """The version numbers of `name`'s files, lowest first."""
    found = (_VERSION_FILE.match(p.name) for p in (FOLDER / name).glob("v*.sql"))
    return sorted(int(m.group(1)) for m in found if m)


def text(name: str, version: int) -> str:
    """Version `version` of function `name`: its CREATE OR REPLACE FUNCTION statement."""
    return (FOLDER / name / f"v{version:02d}.sql").read_text()


def load(name: str, version: int) -> list[str]:
    """The statements that put function `name` at `version`, whichever version (or none)
    is there now."""
    if not re.fullmatch(r"\w+", name):
        raise ValueError(f"not a function name: {name!r}")
    return [_DROP_ANY_VERSION.format(name=name), text(name, version)]


def drop(name: str) -> list[str]:
    """The statement that removes function `name` (for the BACKWARDS of the migration that
    created it)."""
    return [f"DROP FUNCTION IF EXISTS {name}"]
